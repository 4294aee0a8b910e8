"""Generated from proto/voiceassist/admin by `make proto`; never edit by hand."""
