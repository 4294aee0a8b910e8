"""VoiceAssist medical-kb service."""
