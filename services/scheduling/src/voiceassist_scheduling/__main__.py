"""Lets ``python -m voiceassist_scheduling`` start the scheduling service."""

from voiceassist_scheduling.server import main

if __name__ == "__main__":
    main()
