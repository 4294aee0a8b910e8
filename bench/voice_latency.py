"""Spoken-turn latency and barge-in stop time over the conversation WebSocket, in real time.

``bench/voice_latency.py [--repeat 1] [--barge-in 8] [--verbose]``

Issue #6 asks how long a patient waits after they stop talking: end of speech → first reply
audio byte, p50 ≤ 0.8 s and p95 ≤ 1.5 s on the 2-core machine, and that a reply spoken over
stops within 200 ms. This script is such a patient. Against the whole platform (the one at
``VOICEASSIST_URL``, or one started here on free ports with the rate limits raised and stopped at
the end, as bench/booking_race.py does, whose helpers it reuses), each turn is a guest session's
conversation (``POST /api/v1/auth/guest``, then ``/ws/v1/conversation`` with the session cookie
and the gateway's own ``Origin``).

The utterances are recorded patient speech: complaint sentences and short answers, each spoken by
the platform's own synthesis (``POST /api/v1/speech/synthesize``, hibari, 16 kHz) and by espeak-ng
(``espeak-ng --stdout``, resampled to 16 kHz), with the leading and trailing silence cut so that
the last frame sent is the end of speech. Complaints are spoken at the chief-complaint step (after
a typed consent); short answers at the first triage question (after a typed complaint, age and
sex). Audio goes out as a microphone sends it: 20 ms PCM16 frames every 20 ms, 200 ms of silence
first, then the speech, then silence frames in real time until the reply's first audio byte.

Per spoken turn, from the moment the last speech frame was sent: to ``transcript.final``, to the
first ``assistant.text``, to the first reply audio byte. These include the server's end-of-turn
wait (320 ms of silence after an expected answer, 480 ms after a finished sentence, else 800 ms,
or 1.2 s when less than 0.6 s of speech was heard): the script also reads the voice-proxy's own
histogram ``voiceassist_voice_latency_seconds{stage}`` (measured from the end of speech the
server detected) before and after, and prints its means over the run.

Baseline, in the same process: the same utterances typed (``{"type": "text"}``) at the same step,
text sent → first ``assistant.text`` and → first reply audio byte; the ratio spoken / typed is
printed.

Barge-in: after a typed complaint, the assistant asks an interruptible question; once its first
audio byte arrives the patient waits ``--barge-delay`` seconds of playback (the reply is playing
in their ear) and then speaks over it in real time. Timed from the first speech frame sent to the
``interrupt`` event; audio bytes received after ``interrupt`` are counted. A trial whose reply had
been sent whole before the patient spoke is reported as such.

One spoken complaint is sent first and not measured (the platform's cold paths after a start).
Every conversation first plays the greeting and consent (about 22 s, not interruptible, and the
server holds their ``audio.end`` until they have played): the default run (48 conversations and
8 barge-in trials) takes about 30 minutes; ``--texts 1 --barge-in 3`` about 5.

Prints p50/p95 per stage and a JSON last line. The exit status is 0 when every turn got a reply
(whether the target is met is in the output, not the status).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import struct
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import numpy as np
import websockets
from scipy.signal import resample_poly  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
RATE = 16_000
FRAME_SECONDS = 0.02
FRAME_BYTES = int(RATE * FRAME_SECONDS) * 2
SILENCE = b"\x00\x00" * (FRAME_BYTES // 2)
LEAD_IN_FRAMES = 10
"""Silence before the speech (200 ms), as an open microphone sends."""
REPLY_TIMEOUT = 15.0
SETTLE_SECONDS = 0.3
"""Quiet after a reply's ``audio.end`` that says the turn has finished."""
TARGET_P50 = 0.8
TARGET_P95 = 1.5
BARGE_TARGET = 0.2
BARGE_DETECTOR = 0.16
"""Speech the server's detector needs before it stops a reply (turns.py ``barge_in_ms``)."""
TYPED_COMPLAINT = "I have had a sore throat for three days"
SETUP_ANSWERS = {"How old": "34", "man or a woman": "a woman"}
STAGES = ("transcript", "reply_text", "reply_audio")
VOICE_PROXY_METRICS_SLOT = 2
"""Position of the voice-proxy's /metrics among the local runtime's metrics ports."""

COMPLAINTS = (
    "I have a sore throat.",
    "I have a crushing pain in my chest.",
    "I have had a headache since yesterday.",
    "My stomach hurts and I feel sick.",
    "I have a cough and a fever.",
    "My ankle is swollen after I twisted it.",
)
ANSWERS = (
    "Yes.",
    "No.",
    "About a seven.",
    "Since Tuesday.",
    "Not really.",
    "Yeah.",
)


def _booking_race() -> ModuleType:
    """Load the sibling bench script, whose platform and guest sessions this one reuses."""
    spec = importlib.util.spec_from_file_location("booking_race", HERE / "booking_race.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("bench/booking_race.py is missing")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


race = _booking_race()


# --------------------------------------------------------------------------------------------
# The platform and its voice-proxy metrics
# --------------------------------------------------------------------------------------------


@dataclass
class Bench:
    """Where the platform answers, and where the voice-proxy's /metrics is."""

    base_url: str
    metrics_url: str | None


@contextlib.contextmanager
def platform(metrics_url: str | None) -> Iterator[Bench]:
    """Yield the platform (VOICEASSIST_URL's or one started here) and its voice metrics URL."""
    if os.environ.get("VOICEASSIST_URL"):
        with race.platform() as target:
            yield Bench(target.base_url, metrics_url or _local_metrics_url())
        return
    # The started platform's metrics ports are a block taken by booking_race's helper: note it.
    from voiceassist_localstack import ports

    blocks: dict[int, int] = {}
    original = ports.free_port_block

    def noted(count: int) -> int:
        blocks[count] = original(count)
        return blocks[count]

    ports.free_port_block = noted  # type: ignore[assignment]
    try:
        with race.platform() as target:
            base = blocks.get(9)
            url = metrics_url or (
                f"http://127.0.0.1:{base + VOICE_PROXY_METRICS_SLOT}/metrics" if base else None
            )
            yield Bench(target.base_url, url)
    finally:
        ports.free_port_block = original


def _local_metrics_url() -> str | None:
    """Return the voice-proxy's /metrics of `make up` (.env's LOCAL_METRICS_PORT_BASE)."""
    try:
        from voiceassist_localstack.config import load_local_settings

        settings = load_local_settings(race.REPOSITORY)
    except Exception:  # the platform may be elsewhere: then the server figures are skipped
        return None
    port = settings.local_metrics_port_base + VOICE_PROXY_METRICS_SLOT
    return f"http://{settings.local_bind_host}:{port}/metrics"


_SAMPLE = re.compile(
    r"^voiceassist_voice_latency_seconds_(bucket|sum|count)\{(?P<labels>[^}]*)\}\s+(?P<v>\S+)$"
)


def read_histogram(url: str | None) -> dict[str, dict[str, Any]] | None:
    """Return the voice latency histogram per stage: buckets (le → count), sum, count."""
    if url is None:
        return None
    try:
        text = httpx.get(url, timeout=10).text
    except httpx.HTTPError:
        return None
    stages: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        stage = stages.setdefault(labels["stage"], {"buckets": {}, "sum": 0.0, "count": 0.0})
        value = float(match["v"])
        if match[1] == "bucket":
            stage["buckets"][float(labels["le"])] = value
        else:
            stage[match[1]] = value
    return stages


def histogram_delta(
    before: dict[str, dict[str, Any]] | None, after: dict[str, dict[str, Any]] | None
) -> dict[str, dict[str, float]] | None:
    """Return per stage the count, mean and bucket-interpolated p50/p95 observed in between."""
    if before is None or after is None:
        return None
    figures = {}
    for stage in STAGES:
        now = after.get(stage)
        if now is None:
            continue
        then = before.get(stage, {"buckets": {}, "sum": 0.0, "count": 0.0})
        count = now["count"] - then["count"]
        if count <= 0:
            continue
        buckets = sorted(
            (le, now["buckets"][le] - then["buckets"].get(le, 0.0)) for le in now["buckets"]
        )
        figures[stage] = {
            "n": count,
            "mean": (now["sum"] - then["sum"]) / count,
            "p50": _bucket_quantile(buckets, 0.5),
            "p95": _bucket_quantile(buckets, 0.95),
        }
    return figures


def _bucket_quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """Interpolate a quantile inside cumulative buckets, as Prometheus's histogram_quantile."""
    total = buckets[-1][1]
    rank = q * total
    lower_edge, lower_count = 0.0, 0.0
    for edge, cumulative in buckets:
        if cumulative >= rank:
            if edge == float("inf"):
                return lower_edge
            share = (rank - lower_count) / max(cumulative - lower_count, 1e-9)
            return lower_edge + (edge - lower_edge) * share
        lower_edge, lower_count = edge, cumulative
    return lower_edge


# --------------------------------------------------------------------------------------------
# Utterances
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Utterance:
    """One recorded patient utterance: 16 kHz PCM16, silence cut at both ends."""

    text: str
    voice: str
    kind: str
    """``complaint`` (said at the chief-complaint step) or ``answer`` (to a triage question)."""
    pcm: bytes

    @property
    def seconds(self) -> float:
        """Return the length of the speech."""
        return len(self.pcm) / 2 / RATE


def wav_pcm(data: bytes) -> tuple[int, np.ndarray]:
    """Return (rate, int16 samples) of a PCM16 mono WAV (espeak-ng's sizes may be bogus)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    offset, rate = 12, 0
    while offset + 8 <= len(data):
        chunk, size = (
            data[offset : offset + 4],
            struct.unpack("<I", data[offset + 4 : offset + 8])[0],
        )
        if chunk == b"fmt ":
            channels, rate = struct.unpack("<HI", data[offset + 10 : offset + 16])
            if channels != 1:
                raise ValueError("not mono")
        if chunk == b"data":
            body = data[offset + 8 :]
            body = body[: len(body) // 2 * 2]
            return rate, np.frombuffer(body, dtype="<i2").copy()
        offset += 8 + size + (size & 1)
    raise ValueError("no data chunk")


def to_16k(rate: int, samples: np.ndarray) -> np.ndarray:
    """Resample int16 samples to 16 kHz."""
    if rate == RATE:
        return samples
    divisor = np.gcd(rate, RATE)
    out = resample_poly(samples.astype(np.float64), RATE // divisor, rate // divisor)
    clipped: np.ndarray = np.clip(np.round(out), -32768, 32767).astype(np.int16)
    return clipped


def trim(samples: np.ndarray) -> bytes:
    """Cut leading and trailing silence (20 ms frames 30 dB below the loudest one)."""
    frames = len(samples) // (FRAME_BYTES // 2)
    usable = samples[: frames * (FRAME_BYTES // 2)].astype(np.float64).reshape(frames, -1)
    rms = np.sqrt((usable**2).mean(axis=1))
    loud = np.flatnonzero(rms >= rms.max() * 10 ** (-30 / 20))
    kept = usable[loud[0] : loud[-1] + 1].reshape(-1)
    return kept.astype("<i2").tobytes()


async def espeak(text: str) -> bytes:
    """Return ``text`` spoken by espeak-ng's English voice, as its WAV output."""
    process = await asyncio.create_subprocess_exec(
        "espeak-ng", "--stdout", "-v", "en", text, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    if process.returncode != 0:
        raise SystemExit(f"espeak-ng failed with status {process.returncode}")
    return out


async def record_utterances(http: httpx.AsyncClient, per_kind: int) -> list[Utterance]:
    """Speak every text with the platform's hibari voice and with espeak-ng."""
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed (Debian package espeak-ng)")
    guest = await race.start_guest(http)
    utterances = []
    for kind, texts in (("complaint", COMPLAINTS), ("answer", ANSWERS)):
        for text in texts[:per_kind]:
            response = await http.post(
                f"{race.API}/speech/synthesize",
                json={"text": text, "sample_rate": RATE},
                headers=guest.headers(),
            )
            if response.status_code != 200:
                raise SystemExit(f"POST /speech/synthesize: {response.status_code} {response.text}")
            rate, samples = wav_pcm(response.content)
            utterances.append(Utterance(text, "hibari", kind, trim(to_16k(rate, samples))))
            spoken = await espeak(text)
            rate, samples = wav_pcm(spoken)
            utterances.append(Utterance(text, "espeak-ng", kind, trim(to_16k(rate, samples))))
    return utterances


# --------------------------------------------------------------------------------------------
# A patient's conversation
# --------------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One frame received: when (monotonic), its event type (``audio`` for bytes), the event."""

    at: float
    type: str
    event: dict[str, Any]
    size: int = 0


@dataclass
class Conversation:
    """A WebSocket conversation whose frames a reader task logs with their arrival time."""

    connection: Any
    log: list[Entry] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        async for message in self.connection:
            now = time.perf_counter()
            if isinstance(message, bytes):
                self.log.append(Entry(now, "audio", {}, len(message)))
            else:
                event = json.loads(message)
                self.log.append(Entry(now, event["type"], event))
            self.changed.set()

    async def send(self, **frame: Any) -> None:
        """Send one JSON frame."""
        await self.connection.send(json.dumps(frame))

    def find(self, since: int, wanted: Callable[[Entry], bool]) -> Entry | None:
        """Return the first entry from index ``since`` that ``wanted`` accepts."""
        return next((entry for entry in self.log[since:] if wanted(entry)), None)

    async def wait(
        self, since: int, wanted: Callable[[Entry], bool], within: float = REPLY_TIMEOUT
    ) -> Entry:
        """Wait for the first entry from index ``since`` that ``wanted`` accepts."""
        deadline = time.perf_counter() + within
        while (found := self.find(since, wanted)) is None:
            self._check_fatal(since)
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("no reply")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)
            if self.reader is not None and self.reader.done():
                self._check_fatal(since)
                if self.find(since, wanted) is None:
                    raise ConnectionError("the socket closed")
        return found

    def _check_fatal(self, since: int) -> None:
        for entry in self.log[since:]:
            if entry.type == "error" and entry.event.get("fatal"):
                raise ConnectionError(f"fatal error {entry.event.get('code')}")

    async def settle(self, since: int) -> None:
        """Wait for a reply to finish: its audio (or text) ended and then nothing for a moment."""
        await self.wait(since, lambda e: e.type in ("audio.end", "assistant.text"))
        while True:
            count = len(self.log)
            await asyncio.sleep(SETTLE_SECONDS)
            last = self.log[-1]
            quiet = len(self.log) == count and last.type in ("audio.end", "assistant.text")
            if quiet and (last.type == "audio.end" or not self._audio_open()):
                return

    def _audio_open(self) -> bool:
        opened = sum(1 for e in self.log if e.type == "audio.start")
        return opened > sum(1 for e in self.log if e.type == "audio.end")

    def last_said(self) -> dict[str, Any]:
        """Return the last ``assistant.text`` event."""
        return next(e.event for e in reversed(self.log) if e.type == "assistant.text")

    async def close(self) -> None:
        """Close the socket and stop the reader."""
        await self.connection.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await self.reader


async def open_conversation(http: httpx.AsyncClient, base_url: str, guest: Any) -> Conversation:
    """Open a guest's WebSocket (cookie plus the gateway's own Origin) and start the reader."""
    url = base_url.replace("http://", "ws://").replace("https://", "wss://")
    connection = await websockets.connect(
        url + "/ws/v1/conversation",
        additional_headers={
            "Cookie": f"{race.SESSION_COOKIE}={guest.session_id}",
            "Origin": base_url,
        },
        max_size=2**22,
    )
    conversation = Conversation(connection)
    conversation.reader = asyncio.create_task(conversation._read())
    return conversation


async def type_turn(conversation: Conversation, text: str) -> None:
    """Type one answer and wait for the whole reply."""
    mark = len(conversation.log)
    await conversation.send(type="text", text=text)
    await conversation.settle(mark)


async def reach(http: httpx.AsyncClient, base_url: str, kind: str) -> Conversation:
    """Return a new guest's voice conversation at the step an utterance of ``kind`` answers.

    The greeting and consent are spoken and cannot be interrupted: the server holds their
    ``audio.end`` until they have played (about 20 s), so each conversation starts slowly.
    (Typing the earlier steps on the text channel and resuming on the voice channel does not
    work: the resumed conversation stays a text one.)
    """
    guest = await race.start_guest(http)
    conversation = await open_conversation(http, base_url, guest)
    mark = len(conversation.log)
    await conversation.send(type="session.start", channel="voice", language="en", sample_rate=RATE)
    await conversation.settle(mark)
    await type_turn(conversation, "yes")  # consent
    if kind == "answer":
        await type_turn(conversation, TYPED_COMPLAINT)
        for _ in range(4):
            said = conversation.last_said()["text"]
            answer = next((a for q, a in SETUP_ANSWERS.items() if q in said), None)
            if answer is None:
                break
            await type_turn(conversation, answer)
    return conversation


class Microphone:
    """Sends 20 ms frames on a fixed 20 ms clock, as a live microphone does."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.next_at = time.perf_counter()

    async def frame(self, pcm: bytes) -> float:
        """Send one frame at its slot of the clock; return when it was sent."""
        delay = self.next_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            self.next_at = time.perf_counter()  # fell behind: restart the clock, never burst
        await self.conversation.connection.send(pcm)
        self.next_at += FRAME_SECONDS
        return time.perf_counter()

    async def speak(self, pcm: bytes) -> tuple[float, float]:
        """Send ``pcm`` frame by frame; return when its first and its last frame were sent."""
        first = last = 0.0
        for start in range(0, len(pcm), FRAME_BYTES):
            chunk = pcm[start : start + FRAME_BYTES]
            last = await self.frame(chunk + SILENCE[len(chunk) :])
            first = first or last
        return first, last


@dataclass
class Turn:
    """Latencies of one turn (seconds from end of speech or from the text sent; None: missing)."""

    utterance: Utterance
    transcript: float | None
    text: float | None
    audio: float | None
    heard: str = ""


async def spoken_turn(conversation: Conversation, utterance: Utterance) -> Turn:
    """Speak ``utterance`` in real time and time the reply from the end of speech."""
    microphone = Microphone(conversation)
    for _ in range(LEAD_IN_FRAMES):
        await microphone.frame(SILENCE)
    mark = len(conversation.log)
    _, ended = await microphone.speak(utterance.pcm)

    def audio_after(entry: Entry) -> bool:
        return entry.type == "audio" and entry.at >= ended

    deadline = ended + REPLY_TIMEOUT
    while conversation.find(mark, audio_after) is None and time.perf_counter() < deadline:
        await microphone.frame(SILENCE)  # the microphone stays open
        conversation._check_fatal(mark)
    final = conversation.find(mark, lambda e: e.type == "transcript.final")
    said = conversation.find(mark, lambda e: e.type == "assistant.text" and e.at >= ended)
    audio = conversation.find(mark, audio_after)
    return Turn(
        utterance,
        _since(ended, final),
        _since(ended, said),
        _since(ended, audio),
        heard=final.event.get("text", "") if final else "",
    )


async def typed_turn(conversation: Conversation, utterance: Utterance) -> Turn:
    """Type ``utterance``'s text and time the reply from the text sent."""
    mark = len(conversation.log)
    sent = time.perf_counter()
    await conversation.send(type="text", text=utterance.text)
    with contextlib.suppress(TimeoutError):
        await conversation.wait(mark, lambda e: e.type == "audio")
    said = conversation.find(mark, lambda e: e.type == "assistant.text")
    audio = conversation.find(mark, lambda e: e.type == "audio")
    return Turn(utterance, None, _since(sent, said), _since(sent, audio))


def _since(start: float, entry: Entry | None) -> float | None:
    return None if entry is None else entry.at - start


@dataclass
class BargeIn:
    """One barge-in trial."""

    interruptible: bool
    reply_seconds: float
    """Length of the reply audio received before the patient spoke."""
    sent_whole_before: bool
    """The reply's audio.end had arrived before the first speech frame was sent."""
    stop: float | None
    """First speech frame sent → ``interrupt`` (None: no interrupt came)."""
    bytes_after: int
    heard_as_turn: bool
    reply_end: float | None
    """First speech frame sent → the reply's ``audio.end`` (negative: it came before)."""
    """The speech came back as a ``transcript.final``: heard as the patient's next answer."""


async def barge_in(
    conversation: Conversation, utterance: Utterance, delay: float
) -> BargeIn | None:
    """Speak over the question that follows a typed complaint, ``delay`` s into its playback."""
    mark = len(conversation.log)
    await conversation.send(type="text", text=TYPED_COMPLAINT)
    said = await conversation.wait(mark, lambda e: e.type == "assistant.text")
    first_audio = await conversation.wait(mark, lambda e: e.type == "audio")
    microphone = Microphone(conversation)
    while time.perf_counter() < first_audio.at + delay:
        await microphone.frame(SILENCE)
    spoke_at = len(conversation.log)
    before = conversation.log[:spoke_at]
    rate = next(
        (e.event.get("sample_rate", 24_000) for e in reversed(before) if e.type == "audio.start"),
        24_000,
    )
    reply_bytes = sum(e.size for e in before[mark:] if e.type == "audio")
    whole = conversation.find(mark, lambda e: e.type == "audio.end") is not None
    interrupt_seen = False

    def interrupted(entry: Entry) -> bool:
        return entry.type == "interrupt"

    first = 0.0
    for start in range(0, len(utterance.pcm), FRAME_BYTES):
        chunk = utterance.pcm[start : start + FRAME_BYTES]
        sent = await microphone.frame(chunk + SILENCE[len(chunk) :])
        first = first or sent
        if conversation.find(spoke_at, interrupted):
            interrupt_seen = True
    deadline = time.perf_counter() + 1.0
    while not interrupt_seen and time.perf_counter() < deadline:
        await microphone.frame(SILENCE)
        interrupt_seen = conversation.find(spoke_at, interrupted) is not None
    stop = conversation.find(spoke_at, interrupted)
    # Let a turn the speech started finish before the conversation is closed.
    for _ in range(int(1.5 / FRAME_SECONDS)):
        await microphone.frame(SILENCE)
    after = 0
    if stop is not None:
        index = conversation.log.index(stop)
        after = sum(
            e.size
            for e in conversation.log[index:]
            if e.type == "audio" and e.at < stop.at + 1.0  # before any next reply
        )
    return BargeIn(
        interruptible=bool(said.event.get("interruptible")),
        reply_seconds=reply_bytes / 2 / rate,
        sent_whole_before=whole,
        stop=None if stop is None else stop.at - first,
        bytes_after=after,
        reply_end=_since(first, conversation.find(mark, lambda e: e.type == "audio.end")),
        heard_as_turn=conversation.find(spoke_at, lambda e: e.type == "transcript.final")
        is not None,
    )


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float | None:
    """Return the q-quantile (linear interpolation), or None without values."""
    return float(np.quantile(np.asarray(values), q)) if values else None


def summary(values: list[float | None]) -> dict[str, Any]:
    """Return n, missing, p50, p95 (seconds, rounded to the millisecond)."""
    present = [v for v in values if v is not None]
    p50, p95 = quantile(present, 0.5), quantile(present, 0.95)
    return {
        "n": len(present),
        "missing": len(values) - len(present),
        "p50": None if p50 is None else round(p50, 3),
        "p95": None if p95 is None else round(p95, 3),
    }


def _fmt(figures: dict[str, Any]) -> str:
    if not figures["n"]:
        return "no replies"
    missing = f", {figures['missing']} without" if figures["missing"] else ""
    return f"p50 {figures['p50']:.3f} s  p95 {figures['p95']:.3f} s  (n={figures['n']}{missing})"


class LoadWatch:
    """Samples the 1-minute load average every few seconds while the run goes on."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            await asyncio.sleep(5)

    def __enter__(self) -> LoadWatch:
        self._task = asyncio.create_task(self._sample())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def run(bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    """Record the utterances, run the turns and the barge-in trials, and return the figures."""
    async with httpx.AsyncClient(
        base_url=bench.base_url, timeout=race.HTTP_TIMEOUT_SECONDS
    ) as http:
        utterances = await record_utterances(http, args.texts)
        print(
            f"{len(utterances)} utterances ({sum(u.seconds for u in utterances):.1f} s of speech)",
            file=sys.stderr,
        )
        # One conversation first, not measured: the first spoken turn after the platform
        # starts pays for cold paths (first calls between the services, first decode of each
        # window size), about 1 s more, which a clinic's server pays once a start.
        warm = await reach(http, bench.base_url, "complaint")
        try:
            await spoken_turn(warm, next(u for u in utterances if u.kind == "complaint"))
        finally:
            await warm.close()
        before = read_histogram(bench.metrics_url)
        spoken: list[Turn] = []
        typed: list[Turn] = []
        barges: list[BargeIn] = []
        with LoadWatch() as load:
            for _ in range(args.repeat):
                for utterance in utterances:
                    for way, turns in (("spoken", spoken), ("typed", typed)):
                        conversation = await reach(http, bench.base_url, utterance.kind)
                        try:
                            if way == "spoken":
                                turn = await spoken_turn(conversation, utterance)
                            else:
                                turn = await typed_turn(conversation, utterance)
                        finally:
                            await conversation.close()
                        turns.append(turn)
                        if args.verbose:
                            print(
                                f"{way:6} {utterance.voice:9} {utterance.text!r:42} "
                                f"final {turn.transcript} text {turn.text} audio {turn.audio} "
                                f"heard {turn.heard!r}",
                                file=sys.stderr,
                            )
            after = read_histogram(bench.metrics_url)
            speakers = [u for u in utterances if u.kind == "complaint"]
            for trial in range(args.barge_in):
                conversation = await reach(http, bench.base_url, "complaint")
                try:
                    result = await barge_in(
                        conversation, speakers[trial % len(speakers)], args.barge_delay
                    )
                finally:
                    await conversation.close()
                if result is not None:
                    barges.append(result)
                    if args.verbose:
                        print(f"barge-in {result}", file=sys.stderr)
    return {
        "spoken": spoken,
        "typed": typed,
        "barges": barges,
        "server": histogram_delta(before, after),
        "load": load.samples,
    }


def report(figures: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Print the figures and return the JSON summary."""
    spoken: list[Turn] = figures["spoken"]
    typed: list[Turn] = figures["typed"]
    barges: list[BargeIn] = figures["barges"]
    result: dict[str, Any] = {"turns": len(spoken)}
    print(f"\nspoken turns, from the end of speech ({len(spoken)} turns, audio sent in real time):")
    spoken_stages: list[tuple[str, Callable[[Turn], float | None]]] = [
        ("transcript_final", lambda t: t.transcript),
        ("first_assistant_text", lambda t: t.text),
        ("first_reply_audio", lambda t: t.audio),
    ]
    for stage, pick in spoken_stages:
        result[f"spoken_{stage}"] = summary([pick(t) for t in spoken])
        print(f"  → {stage:22} {_fmt(result[f'spoken_{stage}'])}")
    for voice in ("hibari", "espeak-ng"):
        for kind in ("complaint", "answer"):
            subset = [
                t.audio for t in spoken if t.utterance.voice == voice and t.utterance.kind == kind
            ]
            key = f"spoken_first_reply_audio_{voice}_{kind}"
            result[key] = summary(subset)
            print(f"    {voice:9} {kind:9} → first reply audio  {_fmt(result[key])}")
    print(f"typed baseline (same texts, same steps; from the text sent, {len(typed)} turns):")
    for stage, pick in spoken_stages[1:]:
        result[f"typed_{stage}"] = summary([pick(t) for t in typed])
        print(f"  → {stage:22} {_fmt(result[f'typed_{stage}'])}")
    spoken_audio, typed_audio = (
        result["spoken_first_reply_audio"],
        result["typed_first_reply_audio"],
    )
    if spoken_audio["n"] and typed_audio["n"]:
        result["ratio_p50"] = round(spoken_audio["p50"] / max(typed_audio["p50"], 1e-6), 1)
        result["ratio_p95"] = round(spoken_audio["p95"] / max(typed_audio["p95"], 1e-6), 1)
        print(
            f"  spoken / typed, first reply audio: p50 x{result['ratio_p50']}, "
            f"p95 x{result['ratio_p95']}"
        )
    server = figures["server"]
    result["server"] = server
    if server:
        print("voice-proxy histogram over the spoken turns (from the end of speech it detected):")
        for stage, values in server.items():
            print(
                f"  {stage:12} n={values['n']:.0f} mean {values['mean']:.3f} s  "
                f"p50≈{values['p50']:.3f} s  p95≈{values['p95']:.3f} s (bucket-interpolated)"
            )
        if "reply_audio" in server and spoken_audio["n"]:
            mean_client = float(np.mean([t.audio for t in spoken if t.audio is not None]))
            result["detection_lag_mean"] = round(mean_client - server["reply_audio"]["mean"], 3)
            print(
                f"  end of speech as the client knows it vs as the server detected it "
                f"(client mean - server reply_audio mean): "
                f"{result['detection_lag_mean']:.3f} s of {mean_client:.3f} s"
            )
    else:
        print("voice-proxy metrics not reachable: server-side stages not read")
    met = bool(
        spoken_audio["n"]
        and spoken_audio["p50"] <= TARGET_P50
        and spoken_audio["p95"] <= TARGET_P95
    )
    result["target_met"] = met
    print(
        f"target p50 ≤ {TARGET_P50} s, p95 ≤ {TARGET_P95} s (end of speech → first reply audio): "
        f"{'MET' if met else 'NOT met'}"
    )
    stops = [b.stop for b in barges]
    result["barge_in"] = {
        **summary(stops),
        "trials": len(barges),
        "delay_s": args.barge_delay,
        "interruptible": sum(b.interruptible for b in barges),
        "reply_sent_whole_before_speech": sum(b.sent_whole_before for b in barges),
        "reply_seconds_mean": round(float(np.mean([b.reply_seconds for b in barges])), 2)
        if barges
        else None,
        "audio_bytes_after_interrupt": [b.bytes_after for b in barges if b.stop is not None],
        "heard_as_next_turn": sum(b.heard_as_turn for b in barges),
        "reply_audio_end_after_first_speech_frame": summary([b.reply_end for b in barges]),
    }
    barge = result["barge_in"]
    if barges:
        print(
            f"barge-in ({len(barges)} trials, speaking {args.barge_delay} s into the reply; "
            f"{barge['interruptible']} replies interruptible, "
            f"{barge['reply_sent_whole_before_speech']} sent whole before the patient spoke, "
            f"mean {barge['reply_seconds_mean']} s of audio):"
        )
        print(f"  first speech frame → interrupt  {_fmt(barge)}")
        print(f"  audio bytes after interrupt: {barge['audio_bytes_after_interrupt']}")
        print(f"  speech heard as the next turn (transcript.final): {barge['heard_as_next_turn']}")
        ended = barge["reply_audio_end_after_first_speech_frame"]
        print(f"  first speech frame → the reply's audio.end  {_fmt(ended)}")
        if barge["n"]:
            print(
                f"  target: within {BARGE_TARGET} s of the speech reaching the server "
                f"(the detector needs {BARGE_DETECTOR} s), i.e. ≤ "
                f"{BARGE_TARGET + BARGE_DETECTOR:.2f} s from the first frame: "
                f"p95 {'MET' if barge['p95'] <= BARGE_TARGET + BARGE_DETECTOR else 'NOT met'}"
            )
    load = figures["load"]
    result["load_average_1m"] = {
        "min": round(min(load), 2) if load else None,
        "max": round(max(load), 2) if load else None,
        "mean": round(float(np.mean(load)), 2) if load else None,
    }
    print(f"load average (1 min) during the run: {result['load_average_1m']}")
    result["date"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ")
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print its figures; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="rounds over the utterances")
    parser.add_argument(
        "--texts", type=int, default=len(COMPLAINTS), help="texts of each kind (complaint, answer)"
    )
    parser.add_argument("--barge-in", type=int, default=8, help="barge-in trials")
    parser.add_argument(
        "--barge-delay", type=float, default=0.3, help="seconds of reply playback before speaking"
    )
    parser.add_argument(
        "--metrics-url", help="the voice-proxy's /metrics (default: the local runtime's)"
    )
    parser.add_argument("--verbose", action="store_true", help="print every turn (stderr)")
    args = parser.parse_args(argv)
    # A `timeout` or kill must still stop a platform started here (the context manager's finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with platform(args.metrics_url) as bench:
        figures = asyncio.run(run(bench, args))
    result = report(figures, args)
    print(json.dumps(result, default=str))
    spoken_missing = result["spoken_first_reply_audio"]["missing"]
    return 0 if spoken_missing == 0 and result["typed_first_reply_audio"]["missing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
