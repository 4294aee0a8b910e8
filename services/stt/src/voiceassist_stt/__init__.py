"""VoiceAssist stt service."""
