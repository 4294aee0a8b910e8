"""gRPC entry point of the triage service: ``voiceassist.triage.v1.TriageService``.

Each RPC translates the request (handlers/convert.py), refuses what is invalid with
INVALID_ARGUMENT naming the field, runs the engine and translates the answer back. Every
clinical answer carries the knowledge version and the not-a-diagnosis notice in its language.

The engine is CPU-bound pure Python, so it runs in a worker thread: a slow turn never holds the
event loop that answers every other call. ``voiceassist_triage_turn_seconds{rpc}`` times the
engine's part of each call.

Triage records an Assessment and then publishes ``triage.completed``. Telling the patient how
urgent their case is matters more than either: when NATS is down the event is dropped (counted,
see adapters/events.py), and when PostgreSQL is down the outcome is still returned, without an
assessment id, counted in ``voiceassist_triage_assessments_unrecorded_total`` and logged.

Invalid requests are answered with a ``voiceassist.common.v1.Problem`` in the status details
(``grpc-status-details-bin``, `voiceassist_common.grpc.problems`), one violation per field, so
the gateway can name the field in its problem+json. Messages name fields and rules, never
values: a value may be what the patient said.

Who may read which assessment is decided here, not only at the gateway (issue #4): the caller is
the user whose access token the gateway forwards (`voiceassist_common.grpc.principal`). A patient
(guests included) records assessments under their own subject and reads only those; another
patient's assessment answers NOT_FOUND, exactly like one that does not exist, so ids cannot be
probed. Admins read all of them. A clinician reads their own and those of the patients of
their practice (issue #5): patients with an appointment there, which the scheduling service
answers when asked with the clinician's own token (adapters/practices.py). Another patient's
assessment is NOT_FOUND to a clinician too; a listing is narrowed to the practice's patients,
and naming a patient the practice does not see is PERMISSION_DENIED, as it is for a patient
naming another. When scheduling cannot be asked, a clinician's read of anyone else's
assessment is UNAVAILABLE, never allowed. With `Callers.unverified` (dev and test only) the
request is trusted as it stands.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar
from uuid import UUID, uuid4

import grpc
from prometheus_client import Counter, Histogram
from pydantic import ValidationError
from voiceassist.common.v1 import paging_pb2
from voiceassist.triage.v1 import triage_pb2, triage_pb2_grpc
from voiceassist_common.errors import NotFound, Unavailable
from voiceassist_common.events import ConditionProbability, TriageCompleted, UrgencyLevel
from voiceassist_common.grpc.principal import Callers, bearer_token
from voiceassist_common.grpc.problems import PROBLEM_DETAILS_KEY, answering
from voiceassist_common.grpc.server import Register
from voiceassist_common.logging import safe
from voiceassist_common.tokens import Principal, Role

from voiceassist_triage.adapters.events import EVENTS_DROPPED, OutcomePublisher
from voiceassist_triage.adapters.practices import UNREACHABLE, PracticeAccess
from voiceassist_triage.adapters.repository import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Assessment,
    AssessmentFilter,
    AssessmentRepository,
    ConditionScore,
    InvalidPageTokenError,
    StoreUnavailableError,
)
from voiceassist_triage.domain.case import Case, Language
from voiceassist_triage.domain.engine import InvalidEvidence, TriageEngine
from voiceassist_triage.domain.knowledge import DISCLAIMER
from voiceassist_triage.domain.results import TriageDecision
from voiceassist_triage.handlers import convert
from voiceassist_triage.handlers.convert import InvalidRequest

__all__ = [
    "ASSESSMENTS_UNRECORDED",
    "OUTCOMES",
    "PROBLEM_DETAILS_KEY",
    "SERVICE",
    "TURN_SECONDS",
    "TriageServicer",
    "registrar",
]

logger = logging.getLogger(__name__)

SERVICE = triage_pb2.DESCRIPTOR.services_by_name["TriageService"]

MAX_TEXT_LENGTH = 10_000
"""Longest text Parse reads (a few minutes of speech)."""
MAX_QUESTIONS_LIMIT = 200
MAX_ID_LENGTH = 256
EVENT_CONDITIONS = 10
"""How many of the ranked conditions the event carries."""

TURN_SECONDS = Histogram(
    "voiceassist_triage_turn_seconds",
    "Seconds the triage engine spent on one call (Parse, Diagnose, Triage, Explain).",
    ["rpc"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
OUTCOMES = Counter(
    "voiceassist_triage_outcomes",
    "Triage outcomes by urgency level.",
    ["level"],
)
ASSESSMENTS_UNRECORDED = Counter(
    "voiceassist_triage_assessments_unrecorded",
    "Triage outcomes returned to the caller but not recorded (assessment store unavailable).",
)

R = TypeVar("R")


def _without_values(message: str, case: Case | None) -> str:
    """Remove from ``message`` any quoted text value of the request.

    A value id can be anything the client typed, and the field name already says which value
    is at fault.
    """
    if case is None:
        return message
    for answer in case.answers:
        if isinstance(answer.value, str) and answer.value:
            message = message.replace(repr(answer.value), "(the value given)")
    return message


def _bounded_id(value: str, field: str) -> str:
    if len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise InvalidRequest(field, f"must be at most {MAX_ID_LENGTH} printable characters")
    return value


class TriageServicer(triage_pb2_grpc.TriageServiceServicer):
    """The six RPCs over one engine, one assessment store and one event publisher."""

    def __init__(
        self,
        engine: TriageEngine,
        repository: AssessmentRepository,
        outcomes: OutcomePublisher,
        *,
        callers: Callers,
        practices: PracticeAccess | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        source: str = "triage",
    ) -> None:
        """Serve over these collaborators.

        ``practices`` answers which patients a clinician's practice sees; without it (tests of
        other things) a verified clinician reads only their own assessments and anyone else's
        is UNAVAILABLE, never allowed. server.py always passes it.
        """
        self._callers = callers
        self._practices = practices
        self._engine = engine
        self._kb = engine.kb
        self._repository = repository
        self._outcomes = outcomes
        self._clock = clock
        self._source = source

    async def _engine_call(self, rpc: str, work: Callable[[], R], case: Case | None = None) -> R:
        """Run ``work`` in a worker thread, timed; the engine's refusals name the field."""
        started = time.perf_counter()
        try:
            return await asyncio.to_thread(work)
        except InvalidEvidence as error:
            raise InvalidRequest(error.field, _without_values(str(error), case)) from None
        finally:
            TURN_SECONDS.labels(rpc=rpc).observe(time.perf_counter() - started)

    def _case(self, request: Any) -> tuple[Case, Language]:
        language = convert.language_in(request.language) or Language.EN
        return convert.case_in(request.patient, request.evidence, self._kb), language

    @answering
    async def Parse(  # noqa: N802 - gRPC method name
        self, request: triage_pb2.ParseRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> triage_pb2.ParseResponse:
        """Find evidence, age and sex in free text (language detected when unspecified)."""
        text = request.text
        if not text.strip():
            raise InvalidRequest("text", "must not be empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise InvalidRequest("text", f"must be at most {MAX_TEXT_LENGTH} characters")
        language = convert.language_in(request.language)
        answering = request.answering_evidence_id or None
        if answering is not None and answering not in self._kb.evidences:
            raise InvalidRequest("answering_evidence_id", "unknown evidence id")
        engine = self._engine
        result = await self._engine_call(
            "Parse", lambda: engine.parse(text, language, answering_evidence_id=answering)
        )
        return convert.parse_out(result, self._kb)

    @answering
    async def Diagnose(  # noqa: N802 - gRPC method name
        self, request: triage_pb2.DiagnoseRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> triage_pb2.DiagnoseResponse:
        """Run one interview turn: ranking, next question, whether to stop."""
        case, language = self._case(request)
        max_questions: int | None = None
        if request.HasField("max_questions"):
            max_questions = request.max_questions
            if not 1 <= max_questions <= MAX_QUESTIONS_LIMIT:
                raise InvalidRequest(
                    "max_questions", f"must be between 1 and {MAX_QUESTIONS_LIMIT}"
                )
        engine = self._engine
        asked = request.questions_asked

        def turn() -> Any:  # the engine validates the case first
            return engine.diagnose(
                case, language, questions_asked=asked, max_questions=max_questions
            )

        result = await self._engine_call("Diagnose", turn, case)
        return convert.diagnose_out(result, self._kb, language)

    @answering
    async def Triage(  # noqa: N802 - gRPC method name
        self, request: triage_pb2.TriageRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> triage_pb2.TriageResponse:
        """Decide the urgency; record it as an Assessment and announce it on JetStream."""
        caller = await self._callers.authenticate(context)
        case, language = self._case(request)
        subject = _bounded_id(request.patient_subject, "patient_subject")
        if caller is not None:
            subject = await _recorded_subject(caller, subject, context)
        conversation = _bounded_id(request.conversation_id, "conversation_id")
        engine = self._engine

        def decide() -> TriageDecision:  # the engine validates the case first
            return engine.triage(case, language)

        decision = await self._engine_call("Triage", decide, case)
        # The two emergency levels are never booked, whatever the knowledge base says.
        specialty = None if decision.level.is_emergency else decision.specialty
        OUTCOMES.labels(level=decision.level.name.lower()).inc()
        patient = request.patient
        assessment = Assessment(
            id=uuid4(),
            create_time=self._clock(),
            patient_subject=subject,
            conversation_id=conversation,
            language=language,
            age_years=patient.age_years if patient.HasField("age_years") else None,
            age_months=patient.age_months if patient.HasField("age_months") else None,
            sex=case.sex,
            answers=case.answers,
            level=decision.level,
            red_flags=decision.red_flags,
            instruction=decision.instruction,
            conditions=tuple(
                ConditionScore(item.condition.id, item.probability) for item in decision.conditions
            ),
            specialty=specialty,
            escalated_for_missing_evidence=decision.escalated_for_missing_evidence,
            missing_evidence_ids=tuple(decision.missing_evidence_ids),
            knowledge_version=self._kb.version,
            questions_asked=request.questions_asked,
        )
        recorded = await self._record(assessment)
        if recorded:
            await self._announce(assessment)
        return triage_pb2.TriageResponse(
            assessment_id=str(assessment.id) if recorded else "",
            outcome=convert.outcome_out(decision, language, specialty=specialty),
            knowledge_version=self._kb.version,
            disclaimer=DISCLAIMER[language],
        )

    async def _record(self, assessment: Assessment) -> bool:
        try:
            await self._repository.add(assessment)
        except Exception as error:
            ASSESSMENTS_UNRECORDED.inc()
            logger.error(
                "assessment not recorded (%s); the outcome is returned without an id",
                safe(type(error).__name__),
            )
            return False
        return True

    async def _announce(self, assessment: Assessment) -> None:
        try:
            event = _completed_event(assessment)
        except ValidationError as error:
            # A knowledge-base id that is not a valid event code; the triage call goes on.
            EVENTS_DROPPED.labels(reason="invalid_event").inc()
            logger.error("triage.completed not built: %d invalid field(s)", len(error.errors()))
            return
        await self._outcomes.completed(event)

    @answering
    async def Explain(  # noqa: N802 - gRPC method name
        self, request: triage_pb2.ExplainRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> triage_pb2.ExplainResponse:
        """Give the evidence for and against each requested (or top-ranked) condition."""
        case, language = self._case(request)
        condition_ids = tuple(request.condition_ids)
        for index, condition_id in enumerate(condition_ids):
            if condition_id not in self._kb.conditions:
                raise InvalidRequest(f"condition_ids[{index}]", "unknown condition id")
        engine = self._engine

        def explain() -> Any:  # the engine validates the case first
            return engine.explain(case, language, condition_ids)

        explanations = await self._engine_call("Explain", explain, case)
        return convert.explain_out(explanations, self._kb, language)

    @answering
    async def GetAssessment(  # noqa: N802 - gRPC method name
        self,
        request: triage_pb2.GetAssessmentRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> triage_pb2.GetAssessmentResponse:
        """Read one recorded assessment, with findings in its language."""
        caller = await self._callers.authenticate(context)
        try:
            assessment_id = UUID(request.assessment_id)
        except ValueError:
            raise InvalidRequest("assessment_id", "must be a UUID") from None
        try:
            assessment = await self._repository.get(assessment_id)
        except StoreUnavailableError:
            raise Unavailable("the assessment store is unavailable; retry shortly") from None
        # Another patient's assessment is answered exactly like a missing one.
        if assessment is None or (
            caller is not None and not await self._may_read(caller, assessment, context)
        ):
            raise NotFound("no assessment has this id")
        return triage_pb2.GetAssessmentResponse(
            assessment=convert.assessment_out(assessment, self._kb),
            disclaimer=DISCLAIMER[assessment.language],
        )

    @answering
    async def ListAssessments(  # noqa: N802 - gRPC method name
        self,
        request: triage_pb2.ListAssessmentsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> triage_pb2.ListAssessmentsResponse:
        """List recorded assessments, newest first, filtered and paged."""
        caller = await self._callers.authenticate(context)
        where = _filter(request)
        page_size = request.page.page_size
        if page_size < 0:
            raise InvalidRequest("page.page_size", "must not be negative")
        page_size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        if caller is not None and not _reads_everyone(caller):
            if _is_clinician(caller):
                where = await self._practice_assessments(caller, where, context)
            else:
                where = await _own_assessments(caller, where, context)
        try:
            page = await self._repository.list(
                where, page_size=page_size, page_token=request.page.page_token
            )
        except InvalidPageTokenError as error:
            raise InvalidRequest("page.page_token", str(error)) from None
        except StoreUnavailableError:
            raise Unavailable("the assessment store is unavailable; retry shortly") from None
        return triage_pb2.ListAssessmentsResponse(
            assessments=[convert.assessment_out(item, self._kb) for item in page.assessments],
            page_info=paging_pb2.PageInfo(
                next_page_token=page.next_page_token, total_size=page.total_size
            ),
        )

    def _practice(self) -> PracticeAccess:
        if self._practices is None:
            raise Unavailable(UNREACHABLE)
        return self._practices

    async def _may_read(
        self,
        caller: Principal,
        assessment: Assessment,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> bool:
        """Whether ``caller`` may read ``assessment``: admins all, clinicians their practice's."""
        if _reads_everyone(caller) or assessment.patient_subject == caller.subject:
            return True
        if not _is_clinician(caller):
            return False
        return await self._practice().sees_patient(
            _access_token(context), assessment.patient_subject
        )

    async def _practice_assessments(
        self,
        caller: Principal,
        where: AssessmentFilter,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AssessmentFilter:
        """Narrow a clinician's listing to their own and their practice's patients.

        Naming a patient the practice does not see is refused, as for a patient naming another.
        """
        if where.patient_subject:
            if where.patient_subject == caller.subject or await self._practice().sees_patient(
                _access_token(context), where.patient_subject
            ):
                return where
            await _refuse(context, "a clinician reads only their practice's patients")
        patients = await self._practice().patients(_access_token(context))
        return dataclasses.replace(where, patient_subjects=patients | {caller.subject})


def _reads_everyone(caller: Principal) -> bool:
    """Whether the caller reads every patient's assessments: admins only."""
    return caller.has_role(Role.ADMIN)


def _is_clinician(caller: Principal) -> bool:
    """Whether the caller is a clinician; a guest never is, whatever roles it carries."""
    return caller.has_role(Role.CLINICIAN) and caller.claims.get("voiceassist_guest") is not True


def _is_staff(caller: Principal) -> bool:
    """Whether the caller records triages for the patient they name (clinicians, admins)."""
    return _reads_everyone(caller) or _is_clinician(caller)


def _is_patient(caller: Principal) -> bool:
    """Whether the caller is a patient; a guest is a patient limited to their own data."""
    return caller.has_role(Role.PATIENT) or caller.claims.get("voiceassist_guest") is True


def _access_token(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """Return the caller's access token, to forward to scheduling; `authenticate` checked it."""
    token = bearer_token(context.invocation_metadata())
    if token is None:  # pragma: no cover - authenticate refuses a call without one
        raise Unavailable(UNREACHABLE)
    return token


async def _refuse(context: grpc.aio.ServicerContext[Any, Any], message: str) -> NoReturn:
    await context.abort(grpc.StatusCode.PERMISSION_DENIED, message)
    raise AssertionError("unreachable: abort() raises")  # pragma: no cover


async def _recorded_subject(
    caller: Principal, requested: str, context: grpc.aio.ServicerContext[Any, Any]
) -> str:
    """Return whom a Triage is recorded for: the patient themselves, or whom staff name."""
    if _is_staff(caller):
        return requested
    if not _is_patient(caller):
        await _refuse(context, "only patients, clinicians and admins may triage")
    if requested and requested != caller.subject:
        await _refuse(context, "a patient records assessments only for themselves")
    return caller.subject


async def _own_assessments(
    caller: Principal, where: AssessmentFilter, context: grpc.aio.ServicerContext[Any, Any]
) -> AssessmentFilter:
    """Narrow a patient's listing to their own assessments; naming another is refused."""
    if not _is_patient(caller):
        await _refuse(context, "only patients, clinicians and admins may read assessments")
    if where.patient_subject and where.patient_subject != caller.subject:
        await _refuse(context, "a patient reads only their own assessments")
    return dataclasses.replace(where, patient_subject=caller.subject)


def _filter(request: triage_pb2.ListAssessmentsRequest) -> AssessmentFilter:
    start = end = None
    if request.HasField("window"):
        window = request.window
        if window.HasField("start_time"):
            start = window.start_time.ToDatetime(tzinfo=UTC)
        if window.HasField("end_time"):
            end = window.end_time.ToDatetime(tzinfo=UTC)
        if start is not None and end is not None and end <= start:
            raise InvalidRequest("window.end_time", "must be after window.start_time")
    levels = frozenset(
        convert.urgency_in(level, field=f"levels[{index}]")
        for index, level in enumerate(request.levels)
    )
    return AssessmentFilter(
        patient_subject=_bounded_id(request.patient_subject, "patient_subject"),
        start_time=start,
        end_time=end,
        levels=levels,
    )


def _completed_event(assessment: Assessment) -> TriageCompleted:
    """Build the event of a recorded assessment: ids, codes and the level, no text."""
    present: dict[str, None] = {}
    absent: dict[str, None] = {}
    for answer in assessment.answers:
        if answer.value is False:
            absent[answer.evidence_id] = None
        elif answer.value is not None:
            present[answer.evidence_id] = None
    return TriageCompleted(
        assessment_id=assessment.id,
        level=UrgencyLevel(assessment.level.name.lower()),
        red_flags=tuple(dict.fromkeys(flag.id for flag in assessment.red_flags)),
        escalated_for_missing_evidence=assessment.escalated_for_missing_evidence,
        conditions=tuple(
            ConditionProbability(
                condition_id=item.condition_id, probability=min(1.0, max(0.0, item.probability))
            )
            for item in assessment.conditions[:EVENT_CONDITIONS]
        ),
        specialty=assessment.specialty,
        present_evidence_ids=tuple(present),
        absent_evidence_ids=tuple(absent),
        language=assessment.language.value,
        questions_asked=assessment.questions_asked,
        knowledge_version=assessment.knowledge_version,
    )


def registrar(
    engine: TriageEngine,
    repository: AssessmentRepository,
    outcomes: OutcomePublisher,
    callers: Callers,
    *,
    practices: PracticeAccess | None = None,
) -> Register:
    """Return the function that adds TriageService, over these collaborators, to a server.

    Without ``practices`` a verified clinician reads only their own assessments (see
    `TriageServicer`); the serving process always passes it.
    """

    def register(server: grpc.aio.Server) -> Sequence[str]:
        servicer = TriageServicer(
            engine, repository, outcomes, callers=callers, practices=practices
        )
        triage_pb2_grpc.add_TriageServiceServicer_to_server(servicer, server)
        return (SERVICE.full_name,)

    return register
