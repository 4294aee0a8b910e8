"""VoiceAssist auth service."""
