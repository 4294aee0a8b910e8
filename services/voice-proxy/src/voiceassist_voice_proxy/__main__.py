"""Lets ``python -m voiceassist_voice_proxy`` start the voice-proxy service."""

from voiceassist_voice_proxy.server import main

if __name__ == "__main__":
    main()
