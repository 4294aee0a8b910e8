"""VoiceAssist triage service."""
