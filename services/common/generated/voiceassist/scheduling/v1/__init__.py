"""Generated from proto/voiceassist/scheduling/v1 by `make proto`; never edit by hand."""
