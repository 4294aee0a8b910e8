"""Generated from proto/voiceassist/auth/v1 by `make proto`; never edit by hand."""
