"""End of utterance to final transcript: how long the stt recogniser makes a patient wait.

In a stream the audio arrives while the patient speaks, so once they stop the only work left
is decoding the utterance: this times exactly that (`WhisperRecognizer.transcribe` on the whole
utterance, as StreamingRecognize's final does), in-process, for each variant asked for, over
the utterances of DIR (``*.wav``, e.g. from bench/make_speech_set.py) that last between
--min and --max seconds (about 3 s by default). Prints p50/p95 per variant, then a JSON line
with all of them. Variants: base and tiny.en, int8, the encoder window 30 s ("full", what
faster-whisper does) or fitted to the utterance plus a margin; "naive" is faster-whisper's
``transcribe`` with its defaults (language detection, timestamps, temperature fallback), the
starting point.

With --grpc the same is measured through the service: a loopback SpeechToTextService streams
each utterance (LINEAR16 chunks of 100 ms, sent at once, single_utterance) and the time from
the client's half-close to the final response is taken (gRPC, resampling, queue and thread
hand-off included).

Run: .venv/bin/python bench/stt_latency.py --data .data/speech/hibari-en
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from voiceassist.common.v1 import audio_pb2, language_pb2
from voiceassist.stt.v1 import stt_pb2, stt_pb2_grpc
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_stt.adapters.audio import decode
from voiceassist_stt.adapters.models import prepare_model
from voiceassist_stt.adapters.queue import RecognitionQueue
from voiceassist_stt.adapters.vocabulary import load_vocabularies
from voiceassist_stt.adapters.whisper import WhisperRecognizer
from voiceassist_stt.domain.recognition import SAMPLE_RATE, Audio, RecognitionOptions
from voiceassist_stt.handlers.grpc import registrar

VARIANTS = ("base:naive", "base:full", "base:fitted", "tiny.en:full", "tiny.en:fitted")


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def through_grpc(recognizer: WhisperRecognizer, utterances: list[Audio]) -> list[float]:
    """Stream each utterance to a loopback service; time half-close to final."""
    queue = RecognitionQueue(recognizer, workers=1, capacity=4)
    server = await start_grpc_server("127.0.0.1:0", registrar(queue))
    times = []
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = stt_pb2_grpc.SpeechToTextServiceStub(channel)
            for audio in utterances:
                pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
                half_closed_at = 0.0

                async def requests(pcm: bytes = pcm) -> Any:
                    nonlocal half_closed_at
                    config = stt_pb2.RecognitionConfig(
                        encoding=audio_pb2.AUDIO_ENCODING_LINEAR16,
                        sample_rate_hertz=SAMPLE_RATE,
                        language=language_pb2.LANGUAGE_ENGLISH,
                    )
                    yield stt_pb2.StreamingRecognizeRequest(
                        streaming_config=stt_pb2.StreamingRecognitionConfig(config=config)
                    )
                    for start in range(0, len(pcm), 3200):
                        yield stt_pb2.StreamingRecognizeRequest(
                            audio_chunk=pcm[start : start + 3200]
                        )
                    half_closed_at = time.perf_counter()

                async for response in stub.StreamingRecognize(requests()):
                    if response.is_final:
                        times.append(time.perf_counter() - half_closed_at)
    finally:
        await server.stop(0)
        queue.close()
    return times


def main() -> int:
    """Time each variant and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--margin", type=float, default=2.0)
    parser.add_argument("--min-window", type=float, default=8.0)
    parser.add_argument("--min", type=float, default=2.5)
    parser.add_argument("--max", type=float, default=3.5)
    parser.add_argument("--limit", type=int, default=15, help="utterances per variant")
    parser.add_argument("--prompt-tokens", type=int, default=100, help="prompt budget")
    parser.add_argument("--no-prompt", action="store_true")
    parser.add_argument("--grpc", action="store_true", help="through a loopback service")
    parser.add_argument("--cache", type=Path, default=Path(".data/stt/models"))
    arguments = parser.parse_args()
    utterances = []
    for path in sorted(arguments.data.glob("*.wav")):
        audio = decode(path.read_bytes(), linear16_rate=None)
        if arguments.min <= audio.size / SAMPLE_RATE <= arguments.max:
            utterances.append(audio)
    utterances = utterances[: arguments.limit]
    if not utterances:
        print("no utterance of the asked length", file=sys.stderr)
        return 1
    mean_seconds = statistics.mean(audio.size / SAMPLE_RATE for audio in utterances)
    figures = {}
    for variant in arguments.variants.split(","):
        model, window = variant.split(":")
        recognizer = WhisperRecognizer(
            prepare_model(model, arguments.cache),
            name=model,
            window="fitted" if window == "fitted" else "full",
            window_margin_seconds=arguments.margin,
            window_min_seconds=arguments.min_window,
            prompt_tokens=arguments.prompt_tokens,
            vocabularies={} if arguments.no_prompt else load_vocabularies(),
        )
        times = []
        if arguments.grpc:
            times = asyncio.run(through_grpc(recognizer, utterances))
        for audio in () if arguments.grpc else utterances:
            started = time.perf_counter()
            if window == "naive":
                segments, _ = recognizer.model.transcribe(audio, beam_size=5)
                list(segments)
            else:
                recognizer.transcribe(audio, RecognitionOptions(language="en"))
            times.append(time.perf_counter() - started)
        figures[variant] = {
            "p50": round(percentile(times, 0.5), 3),
            "p95": round(percentile(times, 0.95), 3),
        }
        print(
            f"{variant:16} p50 {figures[variant]['p50']:.3f} s  p95 {figures[variant]['p95']:.3f} s"
        )
    load = os.getloadavg()[0]
    print(
        json.dumps(
            {
                "n": len(utterances),
                "utterance_seconds": round(mean_seconds, 2),
                "margin": arguments.margin,
                "min_window": arguments.min_window,
                "prompt": 0 if arguments.no_prompt else arguments.prompt_tokens,
                "grpc": arguments.grpc,
                "load1": round(load, 2),
                "variants": figures,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
