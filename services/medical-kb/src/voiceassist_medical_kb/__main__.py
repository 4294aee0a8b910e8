"""Lets ``python -m voiceassist_medical_kb`` start the medical-kb service."""

from voiceassist_medical_kb.server import main

if __name__ == "__main__":
    main()
