"""Lets ``python -m voiceassist_admin`` start the admin service."""

from voiceassist_admin.server import main

if __name__ == "__main__":
    main()
