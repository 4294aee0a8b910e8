"""Shared library used by every VoiceAssist service."""
