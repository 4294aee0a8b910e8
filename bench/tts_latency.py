"""Time to first audio and real-time factor of each installed voice, cache miss and hit.

``bench/tts_latency.py [--repeats N] [--rate HZ]``

Starts the tts service's gRPC server in process on a loopback port (the real handler, pipeline
and engines; no other service) and, for every installed voice, sends Synthesize calls for one
sentence and for a four-sentence paragraph, and times:

- time to first audio byte: from sending the request to receiving the first audio chunk;
- real-time factor: the whole stream's wall time divided by the duration of the audio;
- on a cache miss (each call's text differs by a number, so nothing is cached) and on a cache
  hit (the first text again, now in the prompt cache, as a prewarmed fixed prompt would be).

Prints a table of median / p95 per voice and case; the last line is one JSON object:
``{"machine": ..., "rate": ..., "repeats": ..., "results": [{"voice", "engine", "text",
"cache", "n", "first_audio_ms": {"median", "p95"}, "rtf": {"median", "p95"},
"audio_s": median}]}``. Models come only from installed packages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import grpc
from voiceassist.common.v1 import language_pb2
from voiceassist.tts.v1 import tts_pb2, tts_pb2_grpc
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_tts.adapters.engines import load_installed_voices
from voiceassist_tts.adapters.prompt_cache import PromptCache
from voiceassist_tts.domain.voices import Language
from voiceassist_tts.handlers.grpc import registrar
from voiceassist_tts.handlers.synthesis import SpeechSynthesis

TEXTS: dict[Language, dict[str, str]] = {
    Language.EN: {
        "sentence": "I have had a sore throat for {n} days and it hurts to swallow.",
        "paragraph": (
            "I have had a sore throat for {n} days and it hurts to swallow. "
            "I also have a mild fever and a headache. "
            "I have not taken any medicine yet. "
            "Should I see a doctor today?"
        ),
    },
    Language.FR: {
        "sentence": "J'ai mal à la gorge depuis {n} jours et j'ai du mal à avaler.",
        "paragraph": (
            "J'ai mal à la gorge depuis {n} jours et j'ai du mal à avaler. "
            "J'ai aussi un peu de fièvre et mal à la tête. "
            "Je n'ai pris aucun médicament. "
            "Dois-je voir un médecin aujourd'hui ?"
        ),
    },
}
_PROTO_LANGUAGE = {
    Language.EN: language_pb2.LANGUAGE_ENGLISH,
    Language.FR: language_pb2.LANGUAGE_FRENCH,
    Language.UR: language_pb2.LANGUAGE_URDU,
}


def _row(
    voice_id: str, engine: str, kind: str, cache: str, timings: list[tuple[float, float, float]]
) -> dict[str, Any]:
    firsts = [first * 1000 for first, _, _ in timings]
    rtfs = [total / audio for _, total, audio in timings]
    return {
        "voice": voice_id,
        "engine": engine,
        "text": kind,
        "cache": cache,
        "n": len(timings),
        "first_audio_ms": {
            "median": round(statistics.median(firsts), 1),
            "p95": round(_p95(firsts), 1),
        },
        "rtf": {"median": round(statistics.median(rtfs), 4), "p95": round(_p95(rtfs), 4)},
        "audio_s": round(statistics.median(audio for _, _, audio in timings), 2),
    }


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def _call(
    stub: Any, text: str, voice_id: str, language: Language, rate: int
) -> tuple[float, float, float]:
    """Return (seconds to first audio, seconds in all, seconds of audio)."""
    request = tts_pb2.SynthesizeRequest(
        text=text, voice_id=voice_id, language=_PROTO_LANGUAGE[language], sample_rate_hertz=rate
    )
    started = time.perf_counter()
    first: float | None = None
    samples = 0
    out_rate = rate
    async for response in stub.Synthesize(request):
        if first is None:
            first = time.perf_counter() - started
        if response.HasField("format"):
            out_rate = response.format.sample_rate_hertz
        samples += len(response.audio_chunk) // 2
    total = time.perf_counter() - started
    assert first is not None
    return first, total, samples / out_rate


async def run(repeats: int, rate: int) -> dict[str, Any]:
    """Measure every installed voice; return the JSON summary."""
    voices = load_installed_voices()
    # Two servers over the same loaded engines: one whose cache holds nothing (every sentence
    # a miss, whatever ran before) and one with the prompt cache (the text asked for again).
    uncached = SpeechSynthesis(voices, PromptCache(memory_bytes=0), max_requests=4)
    cached = SpeechSynthesis(voices, PromptCache(memory_bytes=256 << 20), max_requests=4)
    servers = [await start_grpc_server("127.0.0.1:0", registrar(s)) for s in (uncached, cached)]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") for server in servers]
    miss_stub, hit_stub = (tts_pb2_grpc.TextToSpeechServiceStub(c) for c in channels)
    results: list[dict[str, Any]] = []
    try:
        for engine in voices:
            voice = engine.voice
            if voice.language not in TEXTS:
                continue
            await _call(miss_stub, "Warm up.", voice.voice_id, voice.language, rate)
            for kind, template in TEXTS[voice.language].items():
                misses = [
                    await _call(
                        miss_stub, template.format(n=n + 2), voice.voice_id, voice.language, rate
                    )
                    for n in range(repeats)
                ]
                text = template.format(n=2)
                await _call(hit_stub, text, voice.voice_id, voice.language, rate)  # fills it
                hits = [
                    await _call(hit_stub, text, voice.voice_id, voice.language, rate)
                    for _ in range(repeats)
                ]
                for cache, timings in (("miss", misses), ("hit", hits)):
                    results.append(_row(voice.voice_id, voice.engine, kind, cache, timings))
    finally:
        for channel in channels:
            await channel.close(grace=None)
        for server in servers:
            await server.stop(0)
        uncached.close()
        cached.close()
    return {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "rate": rate,
        "repeats": repeats,
        "results": results,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table, then the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=10, help="calls per voice and case")
    parser.add_argument(
        "--rate", type=int, default=16_000, help="sample rate asked for (0: each voice's own)"
    )
    arguments = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    summary = asyncio.run(run(arguments.repeats, arguments.rate))
    print(f"{'voice':18} {'text':9} {'cache':5} {'first audio ms (median/p95)':>28} {'RTF':>16}")
    for row in summary["results"]:
        first, rtf = row["first_audio_ms"], row["rtf"]
        print(
            f"{row['voice']:18} {row['text']:9} {row['cache']:5} "
            f"{first['median']:>13.1f} / {first['p95']:<12.1f} "
            f"{rtf['median']:>7.4f} / {rtf['p95']:<7.4f}"
        )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
