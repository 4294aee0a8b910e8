"""Generated from proto/voiceassist/voice_proxy by `make proto`; never edit by hand."""
