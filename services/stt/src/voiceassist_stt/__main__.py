"""Lets ``python -m voiceassist_stt`` start the stt service."""

from voiceassist_stt.server import main

if __name__ == "__main__":
    main()
