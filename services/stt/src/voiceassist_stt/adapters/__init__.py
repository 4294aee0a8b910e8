"""The stt service's adapters to the outside world, behind small interfaces.

The speech recognition engines, one ``SpeechToText`` adapter per engine, each an optional extra
so the image carries only the engine it runs. Nothing is here yet.
"""
