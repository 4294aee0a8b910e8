"""Generated from proto/voiceassist/medical_kb/v1 by `make proto`; never edit by hand."""
