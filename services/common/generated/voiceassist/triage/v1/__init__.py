"""Generated from proto/voiceassist/triage/v1 by `make proto`; never edit by hand."""
