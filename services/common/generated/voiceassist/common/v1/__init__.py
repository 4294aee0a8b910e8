"""Generated from proto/voiceassist/common/v1 by `make proto`; never edit by hand."""
