"""Generated from proto/voiceassist/triage by `make proto`; never edit by hand."""
