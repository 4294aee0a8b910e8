"""Generated from proto/voiceassist/stt by `make proto`; never edit by hand."""
