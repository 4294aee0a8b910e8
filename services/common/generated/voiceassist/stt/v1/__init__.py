"""Generated from proto/voiceassist/stt/v1 by `make proto`; never edit by hand."""
