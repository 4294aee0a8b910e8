"""VoiceAssist tts service."""
