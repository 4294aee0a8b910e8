"""Generated from proto/voiceassist/auth by `make proto`; never edit by hand."""
