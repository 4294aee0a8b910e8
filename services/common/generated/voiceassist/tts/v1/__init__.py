"""Generated from proto/voiceassist/tts/v1 by `make proto`; never edit by hand."""
