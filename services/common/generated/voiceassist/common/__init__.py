"""Generated from proto/voiceassist/common by `make proto`; never edit by hand."""
