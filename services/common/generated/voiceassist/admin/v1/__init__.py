"""Generated from proto/voiceassist/admin/v1 by `make proto`; never edit by hand."""
