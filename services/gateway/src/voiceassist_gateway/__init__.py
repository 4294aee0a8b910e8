"""VoiceAssist gateway service."""
