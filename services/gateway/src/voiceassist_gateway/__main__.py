"""``python -m voiceassist_gateway``: serve the gateway."""

from voiceassist_gateway.server import main

if __name__ == "__main__":
    main()
