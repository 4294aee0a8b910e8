"""Generated from proto/voiceassist/scheduling by `make proto`; never edit by hand."""
