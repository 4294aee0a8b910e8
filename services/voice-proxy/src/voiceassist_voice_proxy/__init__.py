"""VoiceAssist voice-proxy service."""
