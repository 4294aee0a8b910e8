"""Lets ``python -m voiceassist_triage`` start the triage service."""

from voiceassist_triage.server import main

if __name__ == "__main__":
    main()
