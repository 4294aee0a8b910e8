"""The triage-and-booking conversation, as a nurse on the phone would hold it.

Greeting and consent, then the chief complaint in the patient's words, age and sex when they did
not say them, the triage interview one question at a time (short answers read in the context of
the question), the urgency advice with its reasons, and for bookable levels matched practitioners
with two or three real slots, the patient's pick (by position, by a time in words, or by tapping
a slot), the booking and its confirmation. The two emergency levels end the conversation with
the instruction to call emergency services, as soon as the interview first implies them.

Pure logic over two ports (`TriagePort`, `SchedulingPort`) implemented by gRPC adapters, so the
whole dialog is the same for speech and typed text and is tested without audio. Every turn takes
the `DialogState` (kept in NATS KV between turns, so a reconnect resumes it) and returns what to
show and say. The state holds the patient's answers: PHI, never logged.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from voiceassist_common.clinical import Urgency

from voiceassist_voice_proxy.domain.texts import (
    Language,
    Reply,
    ordinal_choice,
    read_yes_no,
    say,
    spoken_time,
)

__all__ = [
    "Answer",
    "Booked",
    "Dialog",
    "DialogState",
    "Listening",
    "Offers",
    "Outcome",
    "Output",
    "Parsed",
    "PractitionerOffer",
    "Question",
    "Say",
    "SchedulingPort",
    "ShowBooked",
    "ShowOffer",
    "ShowTriage",
    "SlotOffer",
    "SlotTakenError",
    "Stage",
    "TriagePort",
    "listening_for",
]

MAX_RETRIES = 1
"""A question not understood is asked once more, then recorded as "don't know"."""
SLOTS_SPOKEN = 3


class Stage(StrEnum):
    """voiceassist.voice_proxy.v1.DialogStage, by its lower-case name."""

    CONSENT = "consent"
    CHIEF_COMPLAINT = "chief_complaint"
    INTERVIEW = "interview"
    ADVICE = "advice"
    BOOKING = "booking"
    DONE = "done"


# --- what the ports speak ---------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One piece of evidence; no value set means "asked, does not know"."""

    evidence_id: str
    present: bool | None = None
    value_id: str | None = None
    number: float | None = None


@dataclass(frozen=True)
class Parsed:
    """What triage read in a sentence."""

    answers: tuple[Answer, ...]
    age_years: int | None = None
    sex: str | None = None
    """"male" or "female" when stated."""


@dataclass(frozen=True)
class Question:
    """The next interview question."""

    evidence_id: str
    text: str
    kind: str
    """"binary", "choice" or "number"."""
    choices: tuple[tuple[str, str], ...] = ()
    """(value id, text) of a choice question."""
    multiple: bool = False
    """Several choices may be given ("sharp and burning")."""


@dataclass(frozen=True)
class NextStep:
    """What Diagnose decided."""

    question: Question | None
    should_stop: bool
    emergency: bool
    """The evidence already implies an emergency level: say so now."""


@dataclass(frozen=True)
class Outcome:
    """What Triage decided and recorded."""

    level: Urgency
    instruction: str
    reasons: tuple[str, ...]
    conditions: tuple[tuple[str, float], ...]
    specialty: str | None
    disclaimer: str
    assessment_id: str


@dataclass(frozen=True)
class SlotOffer:
    """A free slot offered in the conversation."""

    slot_id: str
    start: datetime
    end: datetime
    timezone: str
    practitioner_name: str
    practice: str


@dataclass(frozen=True)
class PractitionerOffer:
    """A practitioner with their slots."""

    practitioner_id: str
    name: str
    practice: str
    timezone: str
    slots: tuple[SlotOffer, ...]


@dataclass(frozen=True)
class Offers:
    """What Match offered; ``advice`` says what to do when it offered nothing."""

    practitioners: tuple[PractitionerOffer, ...]
    advice: str = ""


@dataclass(frozen=True)
class Booked:
    """A booked appointment."""

    appointment_id: str
    practitioner_name: str
    practice: str
    start: datetime
    timezone: str


class SlotTakenError(Exception):
    """The slot was taken between the offer and the booking."""


class TriagePort(Protocol):
    """The triage service as the dialog needs it."""

    async def parse(self, text: str, language: Language, answering: str = "") -> Parsed:
        """Read evidence (and age, sex) in ``text``; ``answering`` is the question's evidence."""
        ...

    async def next_step(self, state: DialogState) -> NextStep:
        """Run Diagnose on the evidence gathered so far."""
        ...

    async def assess(self, state: DialogState) -> Outcome:
        """Run Triage and record the assessment for this conversation."""
        ...


class SchedulingPort(Protocol):
    """The scheduling service as the dialog needs it."""

    async def offers(
        self,
        outcome: Outcome,
        language: Language,
        city: str,
        window: tuple[datetime, datetime] | None,
    ) -> Offers:
        """Match practitioners and their earliest slots."""
        ...

    async def resolve_time(
        self, text: str, language: Language, timezone: str, now: datetime
    ) -> tuple[datetime, datetime] | None:
        """Resolve "tomorrow afternoon" to a UTC window, or None."""
        ...

    async def book(self, slot: SlotOffer, state: DialogState, idempotency_key: str) -> Booked:
        """Book ``slot``; raise SlotTakenError when it was taken."""
        ...


# --- what the dialog produces ----------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    """Words for the patient (shown, and spoken on the voice channel)."""

    text: str
    stage: Stage
    interruptible: bool = True
    quick_replies: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShowTriage:
    """The triage result card."""

    outcome: Outcome
    bookable: bool
    emergency_number: str


@dataclass(frozen=True)
class ShowOffer:
    """Practitioners and slots to pick from (or advice when there are none)."""

    offers: Offers
    spoken_times: dict[str, str]
    """Slot id -> how the assistant says its time."""


@dataclass(frozen=True)
class ShowBooked:
    """The confirmed appointment."""

    booked: Booked
    spoken_time: str


Output = Say | ShowTriage | ShowOffer | ShowBooked


# --- state -----------------------------------------------------------------------------------


@dataclass
class DialogState:
    """Everything the conversation remembers between turns (PHI: never logged)."""

    session_id: str
    language: Language = "en"
    stage: Stage = Stage.CONSENT
    pending: str = "consent"
    """What the last thing said asked for: consent, complaint, age, sex, question, want_booking,
    city, pick, or nothing."""
    retries: int = 0
    age_years: int | None = None
    sex: str | None = None
    asked_age: bool = False
    asked_sex: bool = False
    answers: list[Answer] = field(default_factory=list)
    question: Question | None = None
    questions_asked: int = 0
    complaint: str = ""
    outcome: Outcome | None = None
    city: str = ""
    offered: list[SlotOffer] = field(default_factory=list)
    appointment_id: str = ""
    turns: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the state as JSON-ready data (for NATS KV)."""
        data = dataclasses.asdict(self)
        if self.outcome is not None:
            data["outcome"]["level"] = int(self.outcome.level)
        for slot in data["offered"]:
            slot["start"] = slot["start"].isoformat()
            slot["end"] = slot["end"].isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DialogState:
        """Rebuild a state written by `to_dict`."""
        values = dict(data)
        values["stage"] = Stage(values["stage"])
        values["answers"] = [Answer(**a) for a in values["answers"]]
        question = values.get("question")
        if question is not None:
            question["choices"] = tuple(tuple(c) for c in question["choices"])
            values["question"] = Question(**question)
        outcome = values.get("outcome")
        if outcome is not None:
            outcome["level"] = Urgency(outcome["level"])
            outcome["reasons"] = tuple(outcome["reasons"])
            outcome["conditions"] = tuple(tuple(c) for c in outcome["conditions"])
            values["outcome"] = Outcome(**outcome)
        values["offered"] = [
            SlotOffer(
                **{
                    **slot,
                    "start": datetime.fromisoformat(slot["start"]),
                    "end": datetime.fromisoformat(slot["end"]),
                }
            )
            for slot in values["offered"]
        ]
        return cls(**values)


_AGE = re.compile(r"\b(\d{1,3})\b")
_MALE = re.compile(r"\b(man|male|boy|gentleman|homme|masculin|garcon|garçon)\b", re.IGNORECASE)
_FEMALE = re.compile(r"\b(woman|female|girl|lady|femme|feminin|féminin|fille)\b", re.IGNORECASE)
_ANOTHER_TIME = re.compile(
    r"\b(another|other|later|different|none|neither|autre|plus tard|aucun)\b", re.IGNORECASE
)


MAX_EXPECTED_ANSWERS = 100
"""The most expected answers the stt service takes for one question."""
_YES_NO = ("yes", "no")
_SCALE = tuple(str(n) for n in range(11))


@dataclass(frozen=True)
class Listening:
    """What the recogniser should listen for while the patient answers what was just asked."""

    expected: tuple[str, ...] = ()
    """The answers the question expects (the recogniser's hints and its answer matching)."""
    answer_replaces_words: bool = True
    """Whether a matched answer stands for the patient's words ("yeah" read as "Yes"); not for
    a question that takes several choices, where the words may name more than one."""


def listening_for(state: DialogState) -> Listening:
    """Say what the patient's next spoken turn is expected to contain.

    Yes/no for consent, a booking offer and binary questions; "a man" or "a woman"; 0 to 10 for
    a scale; the choices of a choice question, unless there are more than the recogniser takes
    (the 165 body locations), when the words go to triage's parser as said: matching them
    against only some of the choices could turn a location that was said into one that was not.
    """
    language = state.language
    question = state.question
    if state.pending in ("consent", "want_booking"):
        return Listening(_YES_NO)
    if state.pending == "sex":
        return Listening((say("man", language), say("woman", language)))
    if state.pending != "question" or question is None:
        return Listening()
    if question.kind == "binary":
        return Listening(_YES_NO)
    if question.kind == "number":
        return Listening(_SCALE)
    if len(question.choices) > MAX_EXPECTED_ANSWERS:
        return Listening()
    return Listening(
        tuple(text for _, text in question.choices), answer_replaces_words=not question.multiple
    )


class Dialog:
    """Runs one turn at a time over the triage and scheduling ports."""

    def __init__(
        self,
        triage: TriagePort,
        scheduling: SchedulingPort,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        emergency_number: dict[str, str] | None = None,
    ) -> None:
        self._triage = triage
        self._scheduling = scheduling
        self._clock = clock
        self._emergency_number = emergency_number or {"en": "112", "fr": "15"}

    # --- entry points ------------------------------------------------------------------------

    def begin(self, state: DialogState) -> list[Output]:
        """Greet and ask for consent (not interruptible: the patient must hear it whole)."""
        state.stage, state.pending = Stage.CONSENT, "consent"
        return [self._ask(state, "greeting", interruptible=False, replies=("yes", "no"))]

    async def hear(self, state: DialogState, text: str) -> list[Output]:
        """Take one turn of the patient's words (a final transcript or typed text)."""
        text = text.strip()
        if not text or state.stage == Stage.DONE:
            return []
        state.turns += 1
        handler = {
            "consent": self._consent,
            "complaint": self._complaint,
            "age": self._age,
            "sex": self._sex,
            "question": self._answer,
            "want_booking": self._want_booking,
            "city": self._city,
            "pick": self._pick,
        }.get(state.pending)
        if handler is None:
            return []
        return await handler(state, text)

    async def pick_slot(self, state: DialogState, slot_id: str) -> list[Output]:
        """Book a slot the patient tapped in the offer."""
        if state.pending != "pick":
            return []
        chosen = next((s for s in state.offered if s.slot_id == slot_id), None)
        if chosen is None:
            return [self._ask(state, "offer_pick_again")]
        return await self._book(state, chosen)

    # --- helpers -----------------------------------------------------------------------------

    def _ask(
        self,
        state: DialogState,
        key: str,
        *,
        interruptible: bool = True,
        replies: Sequence[str] = (),
        prefix: str = "",
        **values: str,
    ) -> Say:
        language = state.language
        return Say(
            prefix + say(key, language, **values),
            state.stage,
            interruptible,
            tuple(say(r, language) for r in replies),
        )

    def _question(self, state: DialogState, question: Question, prefix: str = "") -> Say:
        if question.kind == "binary":
            replies: tuple[str, ...] = tuple(
                say(r, state.language) for r in ("yes", "no", "dont_know")
            )
        else:
            replies = tuple(text for _, text in question.choices[:6])
        return Say(prefix + question.text, Stage.INTERVIEW, True, replies)

    # --- turns -------------------------------------------------------------------------------

    async def _consent(self, state: DialogState, text: str) -> list[Output]:
        reply = read_yes_no(text, state.language)
        if reply == Reply.YES:
            state.stage, state.pending = Stage.CHIEF_COMPLAINT, "complaint"
            return [self._ask(state, "ask_complaint")]
        if reply == Reply.NO:
            state.stage, state.pending = Stage.DONE, ""
            return [self._ask(state, "consent_refused", interruptible=False)]
        return [self._ask(state, "consent_again", interruptible=False, replies=("yes", "no"))]

    async def _complaint(self, state: DialogState, text: str) -> list[Output]:
        parsed = await self._triage.parse(text, state.language)
        self._remember(state, parsed)
        # Nothing recognised twice: triage still judges (it escalates when unsure).
        if not parsed.answers and state.retries < MAX_RETRIES:
            state.retries += 1
            return [self._ask(state, "complaint_again")]
        state.retries = 0
        state.complaint = text[:1000]
        state.stage = Stage.INTERVIEW
        return await self._continue(state)

    async def _age(self, state: DialogState, text: str) -> list[Output]:
        found = _AGE.search(text)
        age = int(found[1]) if found else (await self._triage.parse(text, state.language)).age_years
        if age is None or not 0 <= age <= 120:
            if state.retries < MAX_RETRIES:
                state.retries += 1
                return [self._ask(state, "ask_age", prefix=say("answer_again", state.language))]
        else:
            state.age_years = age
        # Not understood twice: triage goes on without it (it does not guess an age).
        state.retries = 0
        state.pending = ""
        return await self._continue(state)

    async def _sex(self, state: DialogState, text: str) -> list[Output]:
        male, female = _MALE.search(text), _FEMALE.search(text)
        if male and not female:
            state.sex = "male"
        elif female and not male:
            state.sex = "female"
        else:
            parsed = await self._triage.parse(text, state.language)
            if parsed.sex is None and state.retries < MAX_RETRIES:
                state.retries += 1
                return [
                    self._ask(
                        state,
                        "ask_sex",
                        prefix=say("answer_again", state.language),
                        replies=("man", "woman"),
                    )
                ]
            state.sex = parsed.sex
        state.retries = 0
        state.pending = ""
        return await self._continue(state)

    async def _answer(self, state: DialogState, text: str) -> list[Output]:
        question = state.question
        if question is None:
            return await self._continue(state)
        parsed = await self._triage.parse(text, state.language, answering=question.evidence_id)
        answered = [a for a in parsed.answers if a.evidence_id == question.evidence_id]
        self._remember(state, parsed)
        if not answered:
            if state.retries < MAX_RETRIES:
                state.retries += 1
                return [self._question(state, question, say("answer_again", state.language))]
            # Still not understood: record "does not know" so it is not asked again.
            state.answers.append(Answer(question.evidence_id))
        state.retries = 0
        state.questions_asked += 1
        state.question = None
        return await self._continue(state)

    def _remember(self, state: DialogState, parsed: Parsed) -> None:
        known = {(a.evidence_id, a.value_id) for a in state.answers}
        for answer in parsed.answers:
            if (answer.evidence_id, answer.value_id) not in known:
                state.answers.append(answer)
        if parsed.age_years is not None and state.age_years is None:
            state.age_years = parsed.age_years
        if parsed.sex is not None and state.sex is None:
            state.sex = parsed.sex

    async def _continue(self, state: DialogState) -> list[Output]:
        """Ask what triage needs next, or give the advice."""
        step = await self._triage.next_step(state)
        if step.emergency:
            # Never ask age, sex or anything else before telling the patient to call for help.
            return await self._advise(state)
        if state.age_years is None and not state.asked_age:
            state.pending, state.asked_age = "age", True
            return [self._ask(state, "ask_age")]
        if state.sex is None and not state.asked_sex:
            state.pending, state.asked_sex = "sex", True
            return [self._ask(state, "ask_sex", replies=("man", "woman"))]
        if step.should_stop or step.question is None:
            return await self._advise(state)
        state.pending, state.question = "question", step.question
        return [self._question(state, step.question)]

    async def _advise(self, state: DialogState) -> list[Output]:
        outcome = await self._triage.assess(state)
        state.outcome = outcome
        state.stage = Stage.ADVICE
        language = state.language
        emergency = outcome.level.is_emergency
        outputs: list[Output] = [
            ShowTriage(
                outcome,
                bookable=not emergency,
                emergency_number=self._emergency_number[language] if emergency else "",
            )
        ]
        if emergency:
            outputs.append(Say(outcome.instruction, Stage.ADVICE, interruptible=False))
            state.stage, state.pending = Stage.DONE, ""
            outputs.append(self._ask(state, "emergency_end", interruptible=False))
            return outputs
        words = [say("advice_intro", language), outcome.instruction]
        if outcome.reasons:
            words.append(say("reasons", language, reasons=", ".join(outcome.reasons[:3])))
        words.append(outcome.disclaimer)
        outputs.append(Say(" ".join(w for w in words if w), Stage.ADVICE))
        state.stage = Stage.BOOKING
        if outcome.level == Urgency.SELF_CARE:
            state.pending = "want_booking"
            outputs.append(self._ask(state, "offer_self_care", replies=("yes", "no")))
        else:
            state.pending = "city"
            outputs.append(self._ask(state, "ask_city"))
        return outputs

    async def _want_booking(self, state: DialogState, text: str) -> list[Output]:
        reply = read_yes_no(text, state.language)
        if reply == Reply.YES:
            state.pending = "city"
            return [self._ask(state, "ask_city")]
        if reply == Reply.NO:
            state.stage, state.pending = Stage.DONE, ""
            return [self._ask(state, "no_booking")]
        return [self._ask(state, "offer_self_care", replies=("yes", "no"))]

    async def _city(self, state: DialogState, text: str) -> list[Output]:
        state.city = text.strip().rstrip(".!?")[:100]
        return await self._offer(state, window=None)

    async def _offer(
        self, state: DialogState, window: tuple[datetime, datetime] | None, prefix: str = ""
    ) -> list[Output]:
        assert state.outcome is not None  # noqa: S101 - offers follow the advice
        offers = await self._scheduling.offers(state.outcome, state.language, state.city, window)
        now = self._clock()
        slots = [slot for p in offers.practitioners for slot in p.slots]
        state.offered = slots
        spoken = {s.slot_id: spoken_time(s.start, s.timezone, state.language, now) for s in slots}
        outputs: list[Output] = [ShowOffer(offers, spoken)]
        if not slots:
            state.stage, state.pending = Stage.DONE, ""
            outputs.append(Say(prefix + offers.advice, Stage.BOOKING, interruptible=False))
            return outputs
        best = offers.practitioners[0]
        times = [spoken[s.slot_id] for s in best.slots[:SLOTS_SPOKEN]]
        joined = (
            times[0]
            if len(times) == 1
            else ", ".join(times[:-1]) + say("or", state.language) + times[-1]
        )
        state.offered = list(best.slots) + [s for s in slots if s not in best.slots]
        state.pending = "pick"
        outputs.append(
            self._ask(
                state, "offer", prefix=prefix, name=best.name, practice=best.practice, times=joined
            )
        )
        return outputs

    async def _pick(self, state: DialogState, text: str) -> list[Output]:
        first = state.offered[0] if state.offered else None
        same_practitioner = [
            s
            for s in state.offered
            if first is not None and s.practitioner_name == first.practitioner_name
        ][:SLOTS_SPOKEN]
        index = ordinal_choice(text, state.language, len(same_practitioner))
        if index is not None:
            return await self._book(state, same_practitioner[index])
        timezone = first.timezone if first is not None else "UTC"
        window = await self._scheduling.resolve_time(text, state.language, timezone, self._clock())
        if window is not None:
            inside = [s for s in state.offered if window[0] <= s.start < window[1]]
            if inside:
                return await self._book(state, inside[0])
            return await self._offer(state, window)
        if _ANOTHER_TIME.search(text) and state.offered:
            later = max(s.start for s in state.offered) + timedelta(minutes=1)
            return await self._offer(state, (later, later + timedelta(days=28)))
        if read_yes_no(text, state.language) == Reply.YES and same_practitioner:
            return await self._book(state, same_practitioner[0])
        return [self._ask(state, "offer_pick_again")]

    async def _book(self, state: DialogState, slot: SlotOffer) -> list[Output]:
        key = f"{state.session_id}:{slot.slot_id}"
        try:
            booked = await self._scheduling.book(slot, state, key)
        except SlotTakenError:
            return await self._offer(
                state,
                (self._clock(), self._clock() + timedelta(days=28)),
                prefix=say("slot_gone", state.language) + " ",
            )
        state.appointment_id = booked.appointment_id
        state.stage, state.pending = Stage.DONE, ""
        when = spoken_time(booked.start, booked.timezone, state.language, self._clock())
        return [
            ShowBooked(booked, when),
            self._ask(
                state,
                "confirmed",
                name=booked.practitioner_name,
                practice=booked.practice,
                time=when,
            ),
        ]
