"""Lets ``python -m voiceassist_auth`` start the auth service."""

from voiceassist_auth.server import main

if __name__ == "__main__":
    main()
