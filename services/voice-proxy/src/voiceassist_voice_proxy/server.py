"""Process start of the voice-proxy service."""

from __future__ import annotations

from collections.abc import Sequence

from voiceassist_common.runtime import read_command, run_service
from voiceassist_common.settings import load_settings

from voiceassist_voice_proxy.config import Settings
from voiceassist_voice_proxy.handlers.grpc import register


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the voice-proxy service until SIGTERM."""
    read_command(argv, prog="voice-proxy", migrates=False)
    run_service(load_settings(Settings), register=register)
