"""The dialog's ports over gRPC: triage and scheduling, called as the patient.

Every call forwards the patient's own access token (`bearer_metadata`), so triage records the
assessment under the patient and scheduling books for them and checks what they may see, as if
the patient had called the REST API. Deadlines keep a slow service from holding a turn forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import grpc
from google.protobuf import timestamp_pb2
from voiceassist.common.v1 import clinical_pb2, language_pb2, time_window_pb2
from voiceassist.scheduling.v1 import scheduling_pb2
from voiceassist.triage.v1 import triage_pb2
from voiceassist_common.clinical import Urgency

from voiceassist_voice_proxy.domain.dialog import (
    Answer,
    Booked,
    DialogState,
    NextStep,
    Offers,
    Outcome,
    Parsed,
    PractitionerOffer,
    Question,
    SlotOffer,
    SlotTakenError,
)
from voiceassist_voice_proxy.domain.texts import Language

if TYPE_CHECKING:
    # The async stub types exist only in the generated type stubs.
    from voiceassist.scheduling.v1.scheduling_pb2_grpc import SchedulingServiceAsyncStub
    from voiceassist.triage.v1.triage_pb2_grpc import TriageServiceAsyncStub

__all__ = ["GrpcScheduling", "GrpcTriage", "language_out"]

CALL_SECONDS = 5.0

_LANGUAGES = {"en": language_pb2.LANGUAGE_ENGLISH, "fr": language_pb2.LANGUAGE_FRENCH}


def language_out(language: str) -> language_pb2.Language.ValueType:
    """Return the proto Language of an ISO code ("en", "fr")."""
    return _LANGUAGES.get(language, language_pb2.LANGUAGE_ENGLISH)


def _answer_in(evidence: triage_pb2.Evidence) -> Answer:
    which = evidence.WhichOneof("value")
    if which == "present":
        return Answer(evidence.evidence_id, present=evidence.present)
    if which == "value_id":
        return Answer(evidence.evidence_id, value_id=evidence.value_id)
    if which == "number":
        return Answer(evidence.evidence_id, number=evidence.number)
    return Answer(evidence.evidence_id)


def _answer_out(answer: Answer) -> triage_pb2.Evidence:
    if answer.present is not None:
        return triage_pb2.Evidence(evidence_id=answer.evidence_id, present=answer.present)
    if answer.value_id is not None:
        return triage_pb2.Evidence(evidence_id=answer.evidence_id, value_id=answer.value_id)
    if answer.number is not None:
        return triage_pb2.Evidence(evidence_id=answer.evidence_id, number=answer.number)
    return triage_pb2.Evidence(evidence_id=answer.evidence_id)


def _patient(state: DialogState) -> triage_pb2.Patient:
    patient = triage_pb2.Patient()
    if state.age_years is not None:
        patient.age_years = state.age_years
    if state.sex == "male":
        patient.sex = triage_pb2.SEX_MALE
    elif state.sex == "female":
        patient.sex = triage_pb2.SEX_FEMALE
    return patient


class GrpcTriage:
    """`TriagePort` over the triage service."""

    def __init__(self, stub: TriageServiceAsyncStub, metadata: Sequence[tuple[str, str]]) -> None:
        self._stub = stub
        self._metadata = tuple(metadata)

    async def parse(self, text: str, language: Language, answering: str = "") -> Parsed:
        """Read evidence, age and sex in the patient's words."""
        reply = await self._stub.Parse(
            triage_pb2.ParseRequest(
                text=text, language=language_out(language), answering_evidence_id=answering
            ),
            metadata=self._metadata,
            timeout=CALL_SECONDS,
        )
        sex = {triage_pb2.SEX_MALE: "male", triage_pb2.SEX_FEMALE: "female"}.get(reply.patient.sex)
        return Parsed(
            answers=tuple(_answer_in(found.evidence) for found in reply.evidence),
            age_years=reply.patient.age_years if reply.patient.HasField("age_years") else None,
            sex=sex,
        )

    async def next_step(self, state: DialogState) -> NextStep:
        """Run Diagnose on what the patient said so far."""
        reply = await self._stub.Diagnose(
            triage_pb2.DiagnoseRequest(
                patient=_patient(state),
                evidence=[_answer_out(a) for a in state.answers],
                language=language_out(state.language),
                questions_asked=state.questions_asked,
            ),
            metadata=self._metadata,
            timeout=CALL_SECONDS,
        )
        question = None
        if reply.HasField("next_question"):
            asked = reply.next_question
            kind = {
                triage_pb2.ANSWER_TYPE_SINGLE_CHOICE: "choice",
                triage_pb2.ANSWER_TYPE_MULTIPLE_CHOICE: "choice",
                triage_pb2.ANSWER_TYPE_SCALE: "number",
            }.get(asked.answer_type, "binary")
            question = Question(
                evidence_id=asked.evidence_id,
                text=asked.text,
                kind=kind,
                choices=tuple((c.value_id, c.text) for c in asked.choices),
                multiple=asked.answer_type == triage_pb2.ANSWER_TYPE_MULTIPLE_CHOICE,
            )
        # Only a fired emergency red flag ends the interview at once; an emergency level from
        # the ranking of the first sparse answers is settled by the next questions, and the
        # final Triage still says "call emergency services" if it holds.
        emergencies = (
            clinical_pb2.URGENCY_LEVEL_EMERGENCY_AMBULANCE,
            clinical_pb2.URGENCY_LEVEL_EMERGENCY,
        )
        emergency = reply.provisional_level in emergencies and any(
            flag.level in emergencies for flag in reply.red_flags
        )
        return NextStep(question, reply.should_stop, emergency)

    async def assess(self, state: DialogState) -> Outcome:
        """Run Triage and record the assessment under the patient, for this conversation."""
        reply = await self._stub.Triage(
            triage_pb2.TriageRequest(
                patient=_patient(state),
                evidence=[_answer_out(a) for a in state.answers],
                language=language_out(state.language),
                conversation_id=state.session_id,
                questions_asked=state.questions_asked,
            ),
            metadata=self._metadata,
            timeout=CALL_SECONDS,
        )
        outcome = reply.outcome
        specialty = None
        if outcome.recommended_specialty != clinical_pb2.SPECIALTY_UNSPECIFIED:
            name = clinical_pb2.Specialty.Name(outcome.recommended_specialty)
            specialty = name.removeprefix("SPECIALTY_").lower()
        return Outcome(
            level=Urgency(outcome.level),
            instruction=outcome.instruction,
            reasons=tuple(flag.name for flag in outcome.red_flags),
            conditions=tuple(
                (c.lay_name or c.name, round(c.probability, 3)) for c in outcome.conditions[:5]
            ),
            specialty=specialty,
            disclaimer=reply.disclaimer,
            assessment_id=reply.assessment_id,
        )


def _stamp(instant: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(instant.astimezone(UTC))
    return stamp


class GrpcScheduling:
    """`SchedulingPort` over the scheduling service."""

    def __init__(
        self, stub: SchedulingServiceAsyncStub, metadata: Sequence[tuple[str, str]]
    ) -> None:
        self._stub = stub
        self._metadata = tuple(metadata)

    async def offers(
        self,
        outcome: Outcome,
        language: Language,
        city: str,
        window: tuple[datetime, datetime] | None,
    ) -> Offers:
        """Match practitioners for the triage outcome, in the city the patient named."""
        request = scheduling_pb2.MatchRequest(
            urgency=clinical_pb2.UrgencyLevel.ValueType(int(outcome.level)),
            language=language_out(language),
            max_practitioners=3,
            slots_per_practitioner=3,
        )
        if outcome.specialty:
            request.specialty = clinical_pb2.Specialty.Value(
                f"SPECIALTY_{outcome.specialty.upper()}"
            )
        if city:
            request.city = city
        if window is not None:
            request.preferred_window.CopyFrom(
                time_window_pb2.TimeWindow(start_time=_stamp(window[0]), end_time=_stamp(window[1]))
            )
        reply = await self._stub.Match(request, metadata=self._metadata, timeout=CALL_SECONDS)
        practitioners = []
        for found in reply.matches:
            practice = f"{found.practice.name}, {found.practice.city}"
            name = found.practitioner.display_name
            slots = tuple(
                SlotOffer(
                    slot_id=slot.slot_id,
                    start=slot.start_time.ToDatetime(UTC),
                    end=slot.end_time.ToDatetime(UTC),
                    timezone=slot.timezone,
                    practitioner_name=name,
                    practice=practice,
                )
                for slot in found.earliest_slots
            )
            practitioners.append(
                PractitionerOffer(
                    found.practitioner.practitioner_id,
                    name,
                    practice,
                    found.practice.timezone,
                    slots,
                )
            )
        return Offers(tuple(practitioners), reply.advice)

    async def resolve_time(
        self, text: str, language: Language, timezone: str, now: datetime
    ) -> tuple[datetime, datetime] | None:
        """Resolve a time in words in the practice's timezone."""
        reply = await self._stub.ResolveTimeExpression(
            scheduling_pb2.ResolveTimeExpressionRequest(
                text=text[:500],
                language=language_out(language),
                timezone=timezone,
                reference_time=_stamp(now),
            ),
            metadata=self._metadata,
            timeout=CALL_SECONDS,
        )
        if not reply.resolved:
            return None
        return reply.window.start_time.ToDatetime(UTC), reply.window.end_time.ToDatetime(UTC)

    async def book(self, slot: SlotOffer, state: DialogState, idempotency_key: str) -> Booked:
        """Book the slot for the patient, with the triage outcome attached."""
        outcome = state.outcome
        request = scheduling_pb2.BookRequest(
            idempotency_key=idempotency_key,
            slot_id=slot.slot_id,
            reason=state.complaint,
            language=language_out(state.language),
        )
        if outcome is not None:
            request.urgency = clinical_pb2.UrgencyLevel.ValueType(int(outcome.level))
            request.triage_assessment_id = outcome.assessment_id
        try:
            reply = await self._stub.Book(request, metadata=self._metadata, timeout=CALL_SECONDS)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
                raise SlotTakenError(slot.slot_id) from error
            raise
        appointment = reply.appointment
        return Booked(
            appointment_id=appointment.appointment_id,
            practitioner_name=slot.practitioner_name,
            practice=slot.practice,
            start=appointment.start_time.ToDatetime(UTC),
            timezone=appointment.timezone,
        )
