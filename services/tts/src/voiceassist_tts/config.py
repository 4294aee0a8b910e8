"""Settings of the tts service, read once from the environment at start-up.

Defaults are the local ports of docs/development.md; every value can be overridden with the
environment variable of the same name (GRPC_PORT, METRICS_PORT, TTS_WORKERS, ...).

TTS_CACHE_DIR keeps the synthesised fixed prompts across restarts (the ``prewarm`` command
fills it ahead of a deployment); without it they are synthesised into memory at each start.
TTS_PROMPTS_KNOWLEDGE_DIR points at the triage knowledge base whose question texts are warmed;
by default it is found where the triage package is installed.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from voiceassist_common.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything the tts service reads from the environment."""

    service_name: str = Field(default="tts", min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    grpc_port: int = Field(default=50054, ge=1, le=65535)
    metrics_port: int = Field(default=9105, ge=1, le=65535)
    tts_workers: int = Field(
        default=2, ge=1, le=32, description="Sentences synthesised at once (worker threads)."
    )
    tts_max_requests: int = Field(
        default=8,
        ge=1,
        le=1000,
        description="Synthesize calls in progress or waiting; one more is RESOURCE_EXHAUSTED.",
    )
    tts_max_text_chars: int = Field(
        default=5000, ge=1, le=100_000, description="Longest text one Synthesize call accepts."
    )
    tts_cache_memory_mb: int = Field(
        default=192, ge=0, le=16_384, description="Memory for cached sentences, in MiB."
    )
    tts_cache_dir: Path | None = Field(
        default=None, description="Directory keeping synthesised fixed prompts across restarts."
    )
    tts_prewarm: bool = Field(
        default=True, description="Synthesise the fixed prompts in the background at start."
    )
    tts_prompts_knowledge_dir: Path | None = Field(
        default=None, description="Triage knowledge directory whose questions are warmed."
    )
    tts_piper: bool = Field(
        default=True,
        description="Load Piper's voice when the GPL-3.0 extra (tts[piper]) is installed.",
    )
