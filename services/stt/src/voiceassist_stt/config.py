"""Settings of the stt service, read once from the environment at start-up.

Defaults are the local ports of docs/development.md; every value can be overridden with the
environment variable of the same name (GRPC_PORT, METRICS_PORT, STT_MODEL, ...).

The model comes from PyPI packages (adapters/models.py): STT_MODEL is ``base`` (multilingual,
the default) or ``tiny.en`` (English only, faster, less accurate). The split base model is
assembled once into STT_MODEL_CACHE_DIR and checked against its pinned sha256 at every start.
STT_WINDOW ``fitted`` runs Whisper's encoder on a window fitted to the utterance plus
STT_WINDOW_MARGIN_SECONDS instead of the padded 30 seconds (adapters/whisper.py;
docs/benchmarks.md has the measured effect); ``full`` is faster-whisper's ordinary behaviour.
STT_WORKERS transcriptions run at once and STT_QUEUE_SIZE more may wait; beyond that a request
is refused at once with RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from voiceassist_common.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything the stt service reads from the environment."""

    service_name: str = Field(default="stt", min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    grpc_port: int = Field(default=50053, ge=1, le=65535)
    metrics_port: int = Field(default=9104, ge=1, le=65535)

    stt_model: Literal["base", "tiny.en"] = Field(
        default="base", description="Packaged Whisper model: base (en, fr, ...) or tiny.en."
    )
    stt_model_cache_dir: Path = Field(
        default=Path(".data/stt/models"),
        description="Where the split base model is assembled once (about 145 MB).",
    )
    stt_compute_type: Literal["int8", "int8_float32", "float32"] = Field(
        default="int8", description="CTranslate2 compute type on the CPU."
    )
    stt_cpu_threads: int = Field(default=2, ge=1, le=64, description="Threads per transcription.")
    stt_workers: int = Field(default=1, ge=1, le=16, description="Transcriptions run at once.")
    stt_queue_size: int = Field(
        default=4, ge=0, le=256, description="Transcriptions that may wait; more are refused."
    )
    stt_beam_size: int = Field(default=5, ge=1, le=10)
    stt_window: Literal["fitted", "full"] = Field(
        default="fitted", description="Encoder window: fitted to the utterance, or 30 s."
    )
    stt_window_margin_seconds: float = Field(
        default=2.0, ge=0.0, le=29.0, description="Silence added after the utterance (fitted)."
    )
    stt_window_min_seconds: float = Field(
        default=8.0, ge=1.0, le=30.0, description="Shortest fitted window (short answers)."
    )
    stt_medical_prompt: bool = Field(
        default=True, description="Show Whisper the medical vocabulary before it listens."
    )
    stt_prompt_tokens: int = Field(
        default=100,
        ge=16,
        le=223,
        description="Longest prompt (hints + vocabulary) in tokens; longer costs decode time.",
    )
    stt_max_audio_seconds: float = Field(
        default=120.0, gt=0, le=3600, description="Longest recording Recognize accepts."
    )
    stt_max_utterance_seconds: float = Field(
        default=30.0, gt=1, le=120, description="A streamed utterance this long is finalised."
    )
    stt_partial_interval_seconds: float = Field(
        default=1.0, gt=0, le=30, description="Least time between partial transcripts."
    )
    stt_endpoint_silence_seconds: float = Field(
        default=0.8, gt=0, le=10, description="Silence after speech that ends an utterance."
    )
