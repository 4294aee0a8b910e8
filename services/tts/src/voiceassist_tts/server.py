"""Process start of the tts service."""

from __future__ import annotations

from collections.abc import Sequence

from voiceassist_common.runtime import read_command, run_service
from voiceassist_common.settings import load_settings

from voiceassist_tts.config import Settings
from voiceassist_tts.handlers.grpc import register


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the tts service until SIGTERM."""
    read_command(argv, prog="tts", migrates=False)
    run_service(load_settings(Settings), register=register)
