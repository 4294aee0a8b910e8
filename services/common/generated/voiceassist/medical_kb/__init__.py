"""Generated from proto/voiceassist/medical_kb by `make proto`; never edit by hand."""
