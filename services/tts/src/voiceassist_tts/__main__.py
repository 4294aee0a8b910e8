"""Lets ``python -m voiceassist_tts`` start the tts service."""

from voiceassist_tts.server import main

if __name__ == "__main__":
    main()
