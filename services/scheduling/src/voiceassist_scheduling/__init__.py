"""VoiceAssist scheduling service."""
