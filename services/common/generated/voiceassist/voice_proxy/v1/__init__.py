"""Generated from proto/voiceassist/voice_proxy/v1 by `make proto`; never edit by hand."""
