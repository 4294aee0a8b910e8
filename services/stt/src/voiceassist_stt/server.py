"""Process start of the stt service."""

from __future__ import annotations

from collections.abc import Sequence

from voiceassist_common.runtime import read_command, run_service
from voiceassist_common.settings import load_settings

from voiceassist_stt.config import Settings
from voiceassist_stt.handlers.grpc import register


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the stt service until SIGTERM."""
    read_command(argv, prog="stt", migrates=False)
    run_service(load_settings(Settings), register=register)
