"""VoiceAssist admin service."""
