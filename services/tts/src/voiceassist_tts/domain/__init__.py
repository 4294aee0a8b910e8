"""The tts service's domain logic: pure Python, no I/O imports.

Text-to-speech logic that does not depend on an engine: splitting replies into speakable
sentences, pronouncing medical terms, choosing a voice (issue #6). Nothing is here yet: the
issue that builds the capability adds it.
"""
