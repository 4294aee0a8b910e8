"""Whole triage conversations of DDXPlus patients, spoken and typed, over the WebSocket.

``bench/voice_dialog.py [--patients 50] [--concurrency 2] [--voice tts|espeak-ng|both]
[--speed 4] [--verbose]``

Issue #6 asks whether speaking changes the outcome: for each DDXPlus development patient
(bench/data/ddxplus/dev_patients_1000.csv, in file order) this script holds the whole
conversation of ``/ws/v1/conversation`` twice, as a guest of the platform at ``VOICEASSIST_URL``
or of one started here on free ports (bench/booking_race.py's helpers, via
bench/voice_latency.py, whose socket client it reuses):

- typed: ``session.start`` with channel ``text``, every answer a ``{"type": "text"}`` frame;
- spoken: channel ``voice``, every answer the same words synthesised at 16 kHz (the platform's
  ``POST /api/v1/speech/synthesize``, or espeak-ng with ``--voice espeak-ng``; ``both``
  alternates by patient), leading and trailing silence cut, sent as 100 ms PCM16 frames
  ``--speed`` times faster than real time (the server's voice activity detection counts audio
  time, not wall time; ``--speed 1`` gave the same turns and transcripts on a checked patient)
  after 200 ms of silence and followed by 1.5 s of silence, so the server ends the turn itself.
  The patient waits for each reply to be played out (``audio.end``) before answering, as a
  caller does.

The simulated patient answers from their own DDXPlus evidence, as bench/triage_ddxplus.py's
does (``simulated_answers``): consent "yes"; the chief complaint a sentence made from the
INITIAL_EVIDENCE question ("Do you have a cough?" → "I have a cough."); age and sex; then each
interview question, which the dialog asks in the knowledge base's own question text, so the
text names the evidence (the longest knowledge-base question the assistant's words end with).
Yes/no questions get "Yes." / "Yeah." / "No, not really." and the like, choices the choice
texts ("my right tonsil and my pharynx"), scales "about a seven", unknown numbers "I don't
know". A conversation ends at ``triage.result`` (urgency and ranked conditions); nothing is
booked.

When a spoken answer gets no transcript because the recogniser call failed
(``voice.service_unavailable`` / ``voice.service_busy``) the patient types that answer, so the
conversation can go on; such turns are counted.

Prints, over the patients: how often the spoken path reached the same urgency level and the
same top condition as the typed path, how often each path's top condition is the patient's true
pathology, the mean patient turns of each path (consent included), questions the dialog asked
again ("Sorry, I did not understand") on each path, and recognition: spoken turns without a
transcript, turns whose ``transcript.final`` differs from the words meant (after lower-casing,
dropping punctuation and writing numbers as digits) with their word error rate, and turns whose
transcript changes the answer as triage reads it (the triage parser and the dialog's yes/no, age
and sex readings, run in this process on both texts), plus the ``error`` events seen while
speaking. ``--verbose`` prints each patient and each differing turn. The last line is JSON.

Time: the greeting and consent play in full (about 20 s, not interruptible) and every question
plays in real time before the patient answers, so a spoken conversation takes about a minute
(45-75 s measured) and a typed one a few seconds; with ``--concurrency 2`` (default) 20 patients
took 13 minutes on the shared 2-core machine, so 50 take about 30, plus about a minute to start
the platform. The exit status is 0 when every conversation reached ``triage.result`` on both
paths.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import re
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from voiceassist_triage.adapters.ddxplus import DdxPatient, read_patients
from voiceassist_triage.domain.case import Answer, Language
from voiceassist_triage.domain.knowledge import (
    EvidenceKind,
    KnowledgeBase,
    load_knowledge,
)
from voiceassist_triage.domain.parser import parse_text
from voiceassist_voice_proxy.domain.texts import read_yes_no

HERE = Path(__file__).resolve().parent
DEFAULT_PATIENTS = HERE / "data" / "ddxplus" / "dev_patients_1000.csv"
RATE = 16_000
FRAME_SECONDS = 0.1
"""Audio per binary frame (the protocol allows 20-100 ms); few frames keep under the gateway's
100 frames a second even when sent faster than real time."""
FRAME_BYTES = int(RATE * FRAME_SECONDS) * 2
SILENCE = b"\x00" * FRAME_BYTES
LEAD_IN_FRAMES = 2
TRAIL_FRAMES = 15
"""1.5 s of silence after the speech: more than the server's end-of-turn wait (0.8 s, 1.2 s
after short speech)."""
REPLY_TIMEOUT = 30.0
SETTLE_SECONDS = 0.3
MAX_TURNS = 60
"""A conversation that has not reached the advice after this many patient turns is given up."""
REASK = "Sorry, I did not understand"
TURN_LOST = ("voice.service_unavailable", "voice.service_busy")
"""Errors after which no transcript comes for the turn (others, such as a refused frame, do
not end it)."""

YES = ("Yes.", "Yeah.", "Yes, that's right.")
NO = ("No.", "No, not really.", "Nope.")
NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
TENS = {
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}


def _sibling(name: str) -> ModuleType:
    """Load a sibling bench script as a module (bench/ is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    if spec is None or spec.loader is None:
        raise RuntimeError(f"bench/{name}.py is missing")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


latency = _sibling("voice_latency")
ddx = _sibling("triage_ddxplus")
race = latency.race


# --------------------------------------------------------------------------------------------
# The simulated patient's words
# --------------------------------------------------------------------------------------------


def _statement(question: str) -> str:
    """Turn a yes/no question of the knowledge base into the patient saying it is so."""
    text = re.sub(r"\s*\([^)]*\)", "", question).strip().rstrip("?").strip()
    # "Do you currently, or did you ever, have ..." → "Do you have ..."
    text = re.sub(r"\b\w+, or did you \w+, ", "", text)
    text = text.split(",")[0].replace(" any ", " some ")
    rules = (
        (r"^Do you (have|feel|currently)\b", r"I \1"),
        (r"^Are you\b", "I am"),
        (r"^Are your (\w+)", r"My \1 are"),
        (r"^Is your (\w+)", r"My \1 is"),
        (r"^Have you\b", "I have"),
        (r"^Did you\b", "I did"),
        (r"^Did your (\w+)", r"My \1 did"),
        (r"^Do you\b", "I"),
        (r"^Does your (\w+)", r"My \1 does"),
    )
    for pattern, replacement in rules:
        if re.match(pattern, text):
            text = re.sub(pattern, replacement, text, count=1)
            break
    text = re.sub(r"\byour\b", "my", text)
    text = re.sub(r"\byou are\b", "I am", text)
    text = re.sub(r"\byou\b", "I", text)
    return text[:1].upper() + text[1:] + "."


def _number_words(value: float) -> str:
    number = round(value)
    if 0 <= number < len(NUMBER_WORDS):
        return NUMBER_WORDS[number]
    return str(number)


def _choice_words(text: str) -> str:
    """Say a choice as a patient would: "tonsil(R)" → "my right tonsil"."""
    side = re.search(r"\((R|L)\)\s*$", text)
    if side:
        where = "right" if side[1] == "R" else "left"
        return f"my {where} {text[: side.start()].strip()}"
    return text.strip()


@dataclass
class Patient:
    """One DDXPlus patient and how they say things."""

    number: int
    record: DdxPatient
    kb: KnowledgeBase
    said: int = 0
    """How many answers so far (to vary the wording)."""

    def _vary(self, options: tuple[str, ...]) -> str:
        self.said += 1
        return options[(self.number + self.said) % len(options)]

    def complaint(self) -> str:
        """Say the INITIAL_EVIDENCE as a complaint."""
        evidence = self.kb.evidences[self.record.initial_evidence.partition("_@_")[0]]
        return _statement(evidence.question[Language.EN])

    def age(self) -> str:
        """Say the age."""
        return f"I am {round(self.record.age_years)} years old."

    def sex(self) -> str:
        """Say the sex (DDXPlus records M or F)."""
        return "A man." if str(self.record.sex.value).upper().startswith("M") else "A woman."

    def answer(self, evidence_id: str) -> str:
        """Answer the question on ``evidence_id`` from the patient's own evidence."""
        evidence = self.kb.evidences[evidence_id]
        answers: list[Answer] = ddx.simulated_answers(self.kb, self.record, evidence_id)
        if evidence.kind is EvidenceKind.BINARY:
            return self._vary(YES if answers[0].value else NO)
        if evidence.kind is EvidenceKind.NUMBER or answers[0].value is None:
            return "I don't know."
        if evidence.is_scale:
            words = _number_words(float(str(answers[0].value)))
            return self._vary((f"About a {words}.", f"{words.capitalize()}.", f"I'd say {words}."))
        values = [str(a.value) for a in answers]
        if values == [evidence.default_value]:
            return self._vary(NO)
        texts = [v.text[Language.EN] for v in evidence.values if v.id in values]
        if texts == ["Y"]:  # a yes/no question kept as a choice of N and Y
            return self._vary(YES)
        texts = [
            _choice_words(value.text[Language.EN])
            for value_id in values
            if (value := evidence.value(value_id)) is not None
        ]
        return " and ".join(texts) + "." if texts else "I don't know."


class Questions:
    """Finds which evidence an assistant's question asks about, by its knowledge-base text."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._by_text: dict[str, list[str]] = {}
        for evidence in kb.evidences.values():
            text = evidence.question[Language.EN].strip()
            self._by_text.setdefault(text, []).append(evidence.id)
        self._longest_first = sorted(self._by_text, key=len, reverse=True)

    def evidence(self, said: str, patient: DdxPatient) -> str | None:
        """Return the evidence the words ask about (the patient's own first, on a tie)."""
        said = said.strip()
        for text in self._longest_first:
            if said.endswith(text):
                ids = self._by_text[text]
                mine = {a.evidence_id for a in patient.answers}
                return next((i for i in ids if i in mine), ids[0])
        return None


# --------------------------------------------------------------------------------------------
# One conversation
# --------------------------------------------------------------------------------------------


@dataclass
class SpokenTurn:
    """One spoken answer: the words meant and the words the server heard."""

    meant: str
    heard: str | None
    """Every ``transcript.final`` of the answer, joined with " | " (None: none came; the answer
    was then typed)."""
    answering: str = ""
    """What it answers: consent, complaint, age, sex, or the evidence id of a question."""
    errors: tuple[str, ...] = ()
    """Codes of the ``error`` events while it was heard (e.g. ``voice.utterance_too_long``)."""


@dataclass
class Result:
    """How one conversation ended."""

    path: str
    level: str | None = None
    top: str | None = None
    turns: int = 0
    reasked: int = 0
    reasked_after: list[str] = field(default_factory=list)
    """The answers the dialog asked again after."""
    spoken: list[SpokenTurn] = field(default_factory=list)
    failure: str | None = None
    seconds: float = 0.0


def _settled(conversation: Any, since: int, voice: bool) -> Callable[[], bool]:
    """Return whether the reply to the turn at log index ``since`` has been shown and played."""

    def done() -> bool:
        log = conversation.log[since:]
        if any(e.type == "triage.result" for e in log):
            return True
        said = {e.event.get("utterance_id") for e in log if e.type == "assistant.text"}
        if not said:
            return False
        if not voice:
            return True
        played = {e.event.get("utterance_id") for e in log if e.type == "audio.end"}
        return said <= played

    return done


async def await_reply(conversation: Any, since: int, voice: bool) -> None:
    """Wait until the reply has been shown and played, and nothing more came for a moment."""
    done = _settled(conversation, since, voice)
    deadline = time.perf_counter() + REPLY_TIMEOUT
    while True:
        await conversation.wait(
            since, lambda e: True, within=max(0.1, deadline - time.perf_counter())
        )
        if done():
            count = len(conversation.log)
            await asyncio.sleep(SETTLE_SECONDS)
            if len(conversation.log) == count and done():
                return
            continue
        if time.perf_counter() > deadline:
            raise TimeoutError("no reply")
        conversation.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(conversation.changed.wait(), 1.0)


class Speaker:
    """Synthesises answers (cached by words) as trimmed 16 kHz PCM16."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._cache: dict[tuple[str, str], bytes] = {}
        self._guest: Any = None

    async def pcm(self, text: str, voice: str) -> bytes:
        """Return ``text`` spoken by ``voice`` (``tts`` or ``espeak-ng``)."""
        key = (voice, text)
        if key not in self._cache:
            if voice == "espeak-ng":
                rate, samples = latency.wav_pcm(await latency.espeak(text))
            else:
                if self._guest is None:
                    self._guest = await race.start_guest(self._http)
                response = await self._http.post(
                    f"{race.API}/speech/synthesize",
                    json={"text": text, "sample_rate": RATE},
                    headers=self._guest.headers(),
                )
                if response.status_code != 200:
                    raise SystemExit(f"POST /speech/synthesize: {response.status_code}")
                rate, samples = latency.wav_pcm(response.content)
            self._cache[key] = latency.trim(latency.to_16k(rate, samples))
        return self._cache[key]


async def speak(conversation: Any, pcm: bytes, speed: float) -> None:
    """Send lead-in silence, the speech and trailing silence, ``speed`` times real time."""
    frames = [SILENCE] * LEAD_IN_FRAMES
    frames += [
        pcm[i : i + FRAME_BYTES].ljust(FRAME_BYTES, b"\x00")
        for i in range(0, len(pcm), FRAME_BYTES)
    ]
    frames += [SILENCE] * TRAIL_FRAMES
    for frame in frames:
        await conversation.connection.send(frame)
        await asyncio.sleep(FRAME_SECONDS / speed)


async def spoken_answer(
    conversation: Any,
    words: str,
    answering: str,
    pcm: bytes,
    speed: float,
    result: Result,
) -> None:
    """Say ``words``; when no transcript comes (an error, or nothing), type them instead."""
    mark = len(conversation.log)
    await speak(conversation, pcm, speed)
    deadline = time.perf_counter() + REPLY_TIMEOUT
    heard: str | None = None
    while time.perf_counter() < deadline:
        if conversation.find(mark, lambda e: e.type == "transcript.final") is not None:
            await await_reply(conversation, mark, voice=True)
            heard = " | ".join(
                str(e.event.get("text", ""))
                for e in conversation.log[mark:]
                if e.type == "transcript.final"
            )
            break
        if conversation.find(mark, lambda e: e.event.get("code") in TURN_LOST) is not None:
            break  # the recogniser failed: the patient types the answer instead
        await conversation.connection.send(SILENCE)  # the microphone stays open
        await asyncio.sleep(FRAME_SECONDS)
    errors = tuple(str(e.event.get("code")) for e in conversation.log[mark:] if e.type == "error")
    result.spoken.append(SpokenTurn(words, heard, answering, errors))
    if heard is None:
        mark = len(conversation.log)
        await conversation.send(type="text", text=words)
        await await_reply(conversation, mark, voice=True)


async def converse(
    http: httpx.AsyncClient,
    base_url: str,
    patient: Patient,
    questions: Questions,
    *,
    voice: str | None,
    speaker: Speaker,
    speed: float,
) -> Result:
    """Hold one conversation up to ``triage.result``; ``voice`` None types every answer."""
    result = Result("typed" if voice is None else f"spoken:{voice}")
    words = ""
    started = time.perf_counter()
    patient.said = 0
    guest = await race.start_guest(http)
    conversation = await latency.open_conversation(http, base_url, guest)
    try:
        mark = len(conversation.log)
        await conversation.send(
            type="session.start",
            channel="text" if voice is None else "voice",
            language="en",
            sample_rate=RATE,
        )
        await await_reply(conversation, mark, voice is not None)
        while result.turns < MAX_TURNS:
            outcome = next((e for e in conversation.log if e.type == "triage.result"), None)
            if outcome is not None:
                conditions = outcome.event.get("conditions") or []
                result.level = outcome.event.get("level")
                result.top = conditions[0].get("name") if conditions else None
                break
            last = conversation.last_said()
            said, stage = str(last.get("text", "")), last.get("stage")
            if said.startswith(REASK):
                result.reasked += 1
                result.reasked_after.append(words)
            if stage == "consent":
                answering, words = "consent", "Yes."
            elif stage == "chief_complaint":
                answering, words = "complaint", patient.complaint()
            elif "How old" in said:
                answering, words = "age", patient.age()
            elif "man or a woman" in said:
                answering, words = "sex", patient.sex()
            elif stage == "interview" and (evidence := questions.evidence(said, patient.record)):
                answering, words = evidence, patient.answer(evidence)
            else:
                result.failure = f"unexpected prompt at stage {stage}"
                break
            result.turns += 1
            if voice is None:
                mark = len(conversation.log)
                await conversation.send(type="text", text=words)
                await await_reply(conversation, mark, voice=False)
            else:
                pcm = await speaker.pcm(words, voice)
                await spoken_answer(conversation, words, answering, pcm, speed, result)
        else:
            result.failure = "too many turns"
    except (TimeoutError, ConnectionError) as error:
        result.failure = f"{type(error).__name__}: {error}"
    finally:
        await conversation.close()
    result.seconds = time.perf_counter() - started
    return result


# --------------------------------------------------------------------------------------------
# Recognition
# --------------------------------------------------------------------------------------------


def _digits(words: list[str]) -> list[str]:
    """Write number words as digits ("thirty four" → "34"), as a transcript may."""
    out: list[str] = []
    for word in words:
        if word in NUMBER_WORDS:
            value = NUMBER_WORDS.index(word)
            if out and out[-1].isdigit() and int(out[-1]) in TENS.values() and value < 10:
                out[-1] = str(int(out[-1]) + value)
                continue
            out.append(str(value))
        elif word in TENS:
            out.append(str(TENS[word]))
        else:
            out.append(word)
    return out


def normalise(text: str) -> list[str]:
    """Lower-case, drop punctuation, split compounds and contractions apart, numbers as digits."""
    text = text.lower().replace("-", " ").replace("'", "")
    return _digits(re.findall(r"[a-z0-9]+", text))


def meaning(kb: KnowledgeBase, answering: str, text: str) -> frozenset[Any]:
    """Return what the dialog reads in ``text`` as the answer to ``answering`` (in-process).

    The triage parser (the one the triage service runs) and the dialog's own yes/no, age and
    sex readings: two wordings that mean the same answer give the same set.
    """
    if answering == "consent":
        return frozenset({read_yes_no(text, "en")})
    if answering == "sex":
        words = set(normalise(text))
        return frozenset(words & {"man", "woman", "male", "female"})
    parsed = parse_text(
        kb, text, Language.EN, None if answering in ("complaint", "age") else answering
    )
    if answering == "age":
        found = re.search(r"\b(\d{1,3})\b", text)
        return frozenset({int(found[1]) if found else parsed.age_years})
    return frozenset(
        (e.answer.evidence_id, e.answer.value)
        for e in parsed.evidence
        if answering == "complaint" or e.answer.evidence_id == answering
    )


def word_errors(meant: list[str], heard: list[str]) -> int:
    """Return the word-level edit distance."""
    row = list(range(len(heard) + 1))
    for i, word in enumerate(meant, start=1):
        previous, row[0] = row[0], i
        for j, other in enumerate(heard, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return row[-1]


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass
class Pair:
    """One patient's two conversations."""

    patient: Patient
    typed: Result
    spoken: Result


async def run(base_url: str, args: argparse.Namespace) -> list[Pair]:
    """Hold every patient's typed and spoken conversation, ``--concurrency`` patients at once."""
    kb = load_knowledge()
    records = read_patients(args.data)[: args.patients]
    questions = Questions(kb)
    gate = asyncio.Semaphore(args.concurrency)
    voices = ("tts", "espeak-ng") if args.voice == "both" else (args.voice,)
    async with race.new_client(base_url, 4 * args.concurrency + 4) as http:
        speaker = Speaker(http)

        async def one(number: int, record: DdxPatient) -> Pair:
            async with gate:
                patient = Patient(number, record, kb)
                typed = await converse(
                    http, base_url, patient, questions, voice=None, speaker=speaker, speed=1
                )
                spoken = await converse(
                    http,
                    base_url,
                    patient,
                    questions,
                    voice=voices[number % len(voices)],
                    speaker=speaker,
                    speed=args.speed,
                )
                pair = Pair(patient, typed, spoken)
                if args.verbose:
                    _print_pair(pair)
                else:
                    print(f"patient {number + 1}/{len(records)} done", file=sys.stderr, flush=True)
                return pair

        return list(await asyncio.gather(*(one(n, r) for n, r in enumerate(records))))


def _print_pair(pair: Pair) -> None:
    typed, spoken = pair.typed, pair.spoken
    print(
        f"patient {pair.patient.number + 1} ({pair.patient.record.pathology}): "
        f"typed {typed.level}/{typed.top} in {typed.turns} turns ({typed.seconds:.0f} s"
        f"{', ' + typed.failure if typed.failure else ''}); "
        f"{spoken.path} {spoken.level}/{spoken.top} in {spoken.turns} turns "
        f"({spoken.seconds:.0f} s{', ' + spoken.failure if spoken.failure else ''})",
        file=sys.stderr,
        flush=True,
    )
    for path in (typed, spoken):
        for words in path.reasked_after:
            print(f"    {path.path} asked again after {words!r}", file=sys.stderr)
    for turn in spoken.spoken:
        if turn.heard is None or normalise(turn.meant) != normalise(turn.heard):
            print(
                f"    meant {turn.meant!r} heard {turn.heard!r} {' '.join(turn.errors)}",
                file=sys.stderr,
            )


def _lay_to_ddxplus(kb: KnowledgeBase) -> dict[str, str]:
    names: dict[str, str] = {}
    for condition in kb.conditions.values():
        for mapping in (condition.lay_name, condition.name):
            for text in mapping.values():
                names[text] = condition.ddxplus_name
    return names


def report(pairs: list[Pair], wall: float, args: argparse.Namespace) -> dict[str, Any]:
    """Print the figures and return the JSON summary."""
    n = len(pairs)
    complete = [p for p in pairs if p.typed.level and p.spoken.level]
    same_level = sum(p.typed.level == p.spoken.level for p in complete)
    same_top = sum(p.typed.top == p.spoken.top for p in complete)
    names = _lay_to_ddxplus(load_knowledge())

    def true_top(result: Result, pair: Pair) -> bool:
        return names.get(result.top or "") == pair.patient.record.pathology

    turns = [t for p in pairs for t in p.spoken.spoken]
    heard = [t for t in turns if t.heard is not None]
    meant_words = sum(len(normalise(t.meant)) for t in heard)
    errors = sum(word_errors(normalise(t.meant), normalise(t.heard or "")) for t in heard)
    misheard = [t for t in heard if normalise(t.meant) != normalise(t.heard or "")]
    kb = load_knowledge()
    changed = [
        t
        for t in heard
        if meaning(kb, t.answering, t.meant)
        != meaning(kb, t.answering, (t.heard or "").split(" | ")[0])
    ]

    def mean(values: list[int]) -> float | None:
        return round(statistics.mean(values), 2) if values else None

    result: dict[str, Any] = {
        "n": n,
        "complete": len(complete),
        "same_urgency": round(same_level / len(complete), 4) if complete else None,
        "same_top_condition": round(same_top / len(complete), 4) if complete else None,
        "typed_top_is_true_pathology": round(sum(true_top(p.typed, p) for p in pairs) / n, 4),
        "spoken_top_is_true_pathology": round(sum(true_top(p.spoken, p) for p in pairs) / n, 4),
        "typed_mean_turns": mean([p.typed.turns for p in pairs]),
        "spoken_mean_turns": mean([p.spoken.turns for p in pairs]),
        "typed_reasked": sum(p.typed.reasked for p in pairs),
        "spoken_reasked": sum(p.spoken.reasked for p in pairs),
        "spoken_turns": len(turns),
        "recognition_failures": len(misheard),
        "answer_changed": len(changed),
        "split_turns": sum(" | " in (t.heard or "") for t in turns),
        "no_transcript": sum(t.heard is None for t in turns),
        "errors": dict(Counter(code for t in turns for code in t.errors)),
        "wer": round(errors / meant_words, 4) if meant_words else None,
        "typed_seconds_mean": round(statistics.mean(p.typed.seconds for p in pairs), 1),
        "spoken_seconds_mean": round(statistics.mean(p.spoken.seconds for p in pairs), 1),
        "failures": [
            f"{p.patient.number + 1} {r.path}: {r.failure}"
            for p in pairs
            for r in (p.typed, p.spoken)
            if r.failure
        ],
        "voice": args.voice,
        "speed": args.speed,
        "concurrency": args.concurrency,
        "wall_seconds": round(wall),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
    }

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    print(
        f"\n{n} DDXPlus patients, typed and spoken ({args.voice}, audio at {args.speed}x), "
        f"{len(complete)} reached triage.result on both paths\n"
        f"  spoken = typed: urgency {pct(result['same_urgency'])}, "
        f"top condition {pct(result['same_top_condition'])}\n"
        f"  top condition = true pathology: typed {pct(result['typed_top_is_true_pathology'])}, "
        f"spoken {pct(result['spoken_top_is_true_pathology'])}\n"
        f"  mean patient turns: typed {result['typed_mean_turns']}, "
        f"spoken {result['spoken_mean_turns']}; re-asked: typed {result['typed_reasked']}, "
        f"spoken {result['spoken_reasked']}\n"
        f"  recognition: {result['no_transcript']} of {len(turns)} spoken turns got no transcript "
        f"(typed instead); of the {len(heard)} others, {len(misheard)} differ in words "
        f"(WER {pct(result['wer'])}), {len(changed)} change the answer as triage reads it, "
        f"{result['split_turns']} split in two\n"
        f"  conversation time: typed {result['typed_seconds_mean']} s, "
        f"spoken {result['spoken_seconds_mean']} s; wall {wall / 60:.1f} min"
    )
    if result["errors"]:
        print(f"  error events during spoken turns: {result['errors']}")
    for failure in result["failures"]:
        print(f"  failed: {failure}")
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print its figures; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=50, help="the first N patients")
    parser.add_argument("--data", type=Path, default=DEFAULT_PATIENTS, help="DDXPlus CSV")
    parser.add_argument("--concurrency", type=int, default=2, help="patients at once")
    parser.add_argument("--voice", choices=("tts", "espeak-ng", "both"), default="tts")
    parser.add_argument("--speed", type=float, default=4.0, help="audio sent N x real time")
    parser.add_argument("--verbose", action="store_true", help="print every patient (stderr)")
    args = parser.parse_args(argv)
    # A `timeout` or kill must still stop a platform started here (the context manager's finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with race.platform() as target:
        started = time.perf_counter()  # the conversations, not the platform's start
        pairs = asyncio.run(run(target.base_url, args))
        wall = time.perf_counter() - started
    result = report(pairs, wall, args)
    print(json.dumps(result))
    return 0 if not result["failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
