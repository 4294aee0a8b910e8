"""Generated from proto/voiceassist/tts by `make proto`; never edit by hand."""
