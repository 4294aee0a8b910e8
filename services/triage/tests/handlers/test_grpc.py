"""TriageService over gRPC: what a caller hears for a case, what is recorded, what is refused.

Each test calls the real service (shared interceptors, real engine, real knowledge base) on a
loopback port; only PostgreSQL and NATS are stood in for (tests/adapters covers those).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import status_pb2  # type: ignore[import-untyped]
from prometheus_client import REGISTRY
from voiceassist.common.v1 import (
    clinical_pb2,
    language_pb2,
    paging_pb2,
    problem_pb2,
    time_window_pb2,
)
from voiceassist.triage.v1 import triage_pb2
from voiceassist_common.events import UrgencyLevel
from voiceassist_common.grpc.principal import Callers
from voiceassist_triage.adapters.events import JetStreamOutcomes
from voiceassist_triage.adapters.repository import (
    Assessment,
    AssessmentFilter,
    AssessmentPage,
    InMemoryAssessmentRepository,
    StoreUnavailableError,
)
from voiceassist_triage.domain.case import Case, Language
from voiceassist_triage.domain.engine import TriageEngine
from voiceassist_triage.domain.knowledge import DISCLAIMER
from voiceassist_triage.domain.results import TriageDecision
from voiceassist_triage.handlers.grpc import PROBLEM_DETAILS_KEY, TriageServicer

AMBULANCE = clinical_pb2.URGENCY_LEVEL_EMERGENCY_AMBULANCE
EMERGENCY = clinical_pb2.URGENCY_LEVEL_EMERGENCY
ENGLISH, FRENCH = language_pb2.LANGUAGE_ENGLISH, language_pb2.LANGUAGE_FRENCH
# These tests are about triage itself; who may read what is in test_grpc_access.py.
UNVERIFIED = Callers.unverified("test")


def yes(evidence_id: str) -> triage_pb2.Evidence:
    return triage_pb2.Evidence(evidence_id=evidence_id, present=True)


def no(evidence_id: str) -> triage_pb2.Evidence:
    return triage_pb2.Evidence(evidence_id=evidence_id, present=False)


def choice(evidence_id: str, value_id: str) -> triage_pb2.Evidence:
    return triage_pb2.Evidence(evidence_id=evidence_id, value_id=value_id)


def number(evidence_id: str, value: float) -> triage_pb2.Evidence:
    return triage_pb2.Evidence(evidence_id=evidence_id, number=value)


# Pain in the upper chest spreading to the jaw: chest pain of cardiac type (a red flag).
CARDIAC_CHEST_PAIN = [yes("E_53"), choice("E_55", "V_101"), choice("E_57", "V_121")]
MAN_OF_58 = triage_pb2.Patient(age_years=58, sex=triage_pb2.SEX_MALE)


def problem_of(error: grpc.aio.AioRpcError) -> problem_pb2.Problem:
    """Return the Problem the service attached to a refusal."""
    metadata: Any = error.trailing_metadata() or ()
    for key, value in metadata:
        if key == PROBLEM_DETAILS_KEY:
            status = status_pb2.Status.FromString(value)
            problem = problem_pb2.Problem()
            assert status.details[0].Unpack(problem)
            return problem
    raise AssertionError("no Problem in the status details")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_cardiac_chest_pain_is_told_to_call_an_ambulance_and_never_booked(
    triage: Any, engine: TriageEngine
) -> None:
    response = await triage.stub.Triage(
        triage_pb2.TriageRequest(
            patient=MAN_OF_58,
            evidence=CARDIAC_CHEST_PAIN,
            language=ENGLISH,
            patient_subject="patient-1",
            questions_asked=2,
        )
    )

    outcome = response.outcome
    assert outcome.level == AMBULANCE
    assert "cardiac_chest_pain" in [flag.id for flag in outcome.red_flags]
    assert outcome.red_flags[0].level == AMBULANCE  # most urgent first
    assert outcome.instruction
    assert outcome.recommended_specialty == clinical_pb2.SPECIALTY_UNSPECIFIED
    assert outcome.conditions
    assert response.knowledge_version == engine.kb.version
    assert response.disclaimer == DISCLAIMER[Language.EN]


async def test_triage_records_the_assessment_and_announces_it_without_free_text(
    triage: Any, engine: TriageEngine
) -> None:
    response = await triage.stub.Triage(
        triage_pb2.TriageRequest(
            patient=MAN_OF_58,
            evidence=[*CARDIAC_CHEST_PAIN, no("E_91")],
            language=ENGLISH,
            patient_subject="patient-1",
            conversation_id="conversation-7",
            questions_asked=3,
        )
    )

    recorded = await triage.repository.get(UUID(response.assessment_id))
    assert recorded is not None
    assert (recorded.patient_subject, recorded.conversation_id) == ("patient-1", "conversation-7")
    assert recorded.questions_asked == 3
    assert recorded.knowledge_version == engine.kb.version
    (event,) = triage.outcomes.events
    assert event.assessment_id == recorded.id
    assert event.level is UrgencyLevel.EMERGENCY_AMBULANCE
    assert "cardiac_chest_pain" in event.red_flags
    assert event.present_evidence_ids == ("E_53", "E_55", "E_57")
    assert event.absent_evidence_ids == ("E_91",)
    assert event.conditions[0].condition_id == response.outcome.conditions[0].condition_id
    assert event.specialty is None
    wire = event.model_dump_json()
    assert response.outcome.instruction not in wire
    assert response.outcome.red_flags[0].reason not in wire


async def test_age_in_months_wins_so_a_feverish_two_month_old_goes_to_emergency(
    triage: Any,
) -> None:
    infant = triage_pb2.Patient(age_years=30, age_months=2, sex=triage_pb2.SEX_FEMALE)
    adult = triage_pb2.Patient(age_years=30, sex=triage_pb2.SEX_FEMALE)

    baby = await triage.stub.Triage(
        triage_pb2.TriageRequest(patient=infant, evidence=[yes("E_91")])
    )
    grown_up = await triage.stub.Triage(
        triage_pb2.TriageRequest(patient=adult, evidence=[yes("E_91")])
    )

    assert baby.outcome.level in (AMBULANCE, EMERGENCY)
    assert "fever_infant_under_3_months" in [flag.id for flag in baby.outcome.red_flags]
    assert "fever_infant_under_3_months" not in [flag.id for flag in grown_up.outcome.red_flags]


async def test_a_french_session_is_asked_in_french(triage: Any, engine: TriageEngine) -> None:
    response = await triage.stub.Diagnose(
        triage_pb2.DiagnoseRequest(
            patient=MAN_OF_58,
            evidence=[yes("E_53"), choice("E_55", "V_101")],
            language=FRENCH,
        )
    )

    assert not response.should_stop
    question = response.next_question
    assert question.language == FRENCH
    assert question.text == engine.kb.evidences[question.evidence_id].question[Language.FR]
    top = response.conditions[0]
    assert top.name == engine.kb.conditions[top.condition_id].name[Language.FR]
    assert response.disclaimer == DISCLAIMER[Language.FR]
    assert response.knowledge_version == engine.kb.version


async def test_a_plausible_heart_problem_is_checked_for_red_flags_first(triage: Any) -> None:
    response = await triage.stub.Diagnose(
        triage_pb2.DiagnoseRequest(
            patient=MAN_OF_58, evidence=[yes("E_53"), choice("E_55", "V_101")]
        )
    )

    assert response.next_question.red_flag_check
    assert response.stop_reason == triage_pb2.STOP_REASON_UNSPECIFIED
    assert response.provisional_level != clinical_pb2.URGENCY_LEVEL_UNSPECIFIED
    probabilities = [condition.probability for condition in response.conditions]
    assert probabilities == sorted(probabilities, reverse=True)


async def test_an_emergency_red_flag_is_announced_on_the_turn_it_fires(triage: Any) -> None:
    response = await triage.stub.Diagnose(
        triage_pb2.DiagnoseRequest(patient=MAN_OF_58, evidence=CARDIAC_CHEST_PAIN)
    )

    # The caller tells the patient to call emergency services now; the interview may go on with
    # a few handover questions, or stop. The fired rule says why.
    assert response.provisional_level == AMBULANCE
    assert response.red_flags[0].level == AMBULANCE
    assert response.red_flags[0].reason
    if response.should_stop:
        assert response.stop_reason == triage_pb2.STOP_REASON_EMERGENCY
        assert not response.HasField("next_question")
    else:
        assert response.stop_reason == triage_pb2.STOP_REASON_UNSPECIFIED
        assert response.next_question.evidence_id


async def test_parse_hears_no_fever_as_no_fever(triage: Any, engine: TriageEngine) -> None:
    english = await triage.stub.Parse(
        triage_pb2.ParseRequest(text="I've had a crushing pain in my chest for two hours, no fever")
    )
    french = await triage.stub.Parse(
        triage_pb2.ParseRequest(text="J'ai mal à la poitrine depuis ce matin, pas de fièvre")
    )

    for response, language in ((english, ENGLISH), (french, FRENCH)):
        assert response.language == language
        fever = [item for item in response.evidence if item.evidence.evidence_id == "E_91"]
        assert fever, "fever not found"
        assert fever[0].negated
        assert fever[0].evidence.present is False
        assert fever[0].spans
        assert response.knowledge_version == engine.kb.version
    assert french.disclaimer == DISCLAIMER[Language.FR]
    (duration,) = english.durations
    assert duration.hours == 2
    text = "I've had a crushing pain in my chest for two hours, no fever"
    assert text[duration.span.start : duration.span.end] == "two hours"


async def test_explain_gives_the_evidence_for_the_likeliest_condition(triage: Any) -> None:
    evidence = [*CARDIAC_CHEST_PAIN, number("E_56", 8)]

    ranking = await triage.stub.Diagnose(
        triage_pb2.DiagnoseRequest(patient=MAN_OF_58, evidence=evidence)
    )
    response = await triage.stub.Explain(
        triage_pb2.ExplainRequest(patient=MAN_OF_58, evidence=evidence)
    )

    assert 1 <= len(response.explanations) <= 5
    first = response.explanations[0]
    assert first.condition.condition_id == ranking.conditions[0].condition_id
    assert first.supporting
    weights = [item.weight for item in first.supporting]
    assert weights == sorted(weights, reverse=True)
    assert all(weight > 0 for weight in weights)
    assert {item.evidence_id for item in first.supporting} <= {"E_53", "E_55", "E_57", "E_56"}
    assert response.disclaimer == DISCLAIMER[Language.EN]


async def test_an_unknown_evidence_id_is_refused_naming_the_field(triage: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await triage.stub.Diagnose(
            triage_pb2.DiagnoseRequest(evidence=[yes("E_53"), yes("E_99999")])
        )

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "evidence[1].evidence_id" in (refused.value.details() or "")
    problem = problem_of(refused.value)
    assert problem.code == "triage.unknown_evidence"
    assert problem.status == 422
    assert [v.field for v in problem.violations] == ["evidence[1].evidence_id"]


async def test_a_value_an_evidence_cannot_take_is_refused_without_repeating_it(
    triage: Any,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await triage.stub.Triage(
            triage_pb2.TriageRequest(
                evidence=[yes("E_53"), choice("E_55", "my chest, says Jane Doe 555-0142")]
            )
        )

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    problem = problem_of(refused.value)
    assert problem.violations[0].field.startswith("evidence[1]")
    for text in (refused.value.details() or "", problem.detail, problem.violations[0].description):
        assert "Jane" not in text
        assert "555" not in text


async def refusal(call: Any) -> tuple[grpc.StatusCode, str]:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code(), problem_of(error).violations[0].field
    raise AssertionError("the call was not refused")


@pytest.mark.parametrize(
    ("method", "request_message", "field"),
    [
        ("Parse", triage_pb2.ParseRequest(text="   "), "text"),
        ("Parse", triage_pb2.ParseRequest(text="x" * 10_001), "text"),
        (
            "Parse",
            triage_pb2.ParseRequest(text="fever", language=language_pb2.LANGUAGE_URDU),
            "language",
        ),
        (
            "Parse",
            triage_pb2.ParseRequest(text="yes", answering_evidence_id="E_99999"),
            "answering_evidence_id",
        ),
        ("Diagnose", triage_pb2.DiagnoseRequest(max_questions=0), "max_questions"),
        (
            "Diagnose",
            triage_pb2.DiagnoseRequest(evidence=[number("VA_temperature", math.inf)]),
            "evidence[0].number",
        ),
        (
            "Triage",
            triage_pb2.TriageRequest(patient=triage_pb2.Patient(age_years=200)),
            "patient.age_years",
        ),
        ("Triage", triage_pb2.TriageRequest(patient_subject="a\nb"), "patient_subject"),
        ("Explain", triage_pb2.ExplainRequest(condition_ids=["flu_of_mars"]), "condition_ids[0]"),
        ("GetAssessment", triage_pb2.GetAssessmentRequest(assessment_id="42"), "assessment_id"),
        (
            "ListAssessments",
            triage_pb2.ListAssessmentsRequest(page=paging_pb2.Pagination(page_size=-1)),
            "page.page_size",
        ),
        (
            "ListAssessments",
            triage_pb2.ListAssessmentsRequest(levels=[clinical_pb2.URGENCY_LEVEL_UNSPECIFIED]),
            "levels[0]",
        ),
        (
            "ListAssessments",
            triage_pb2.ListAssessmentsRequest(page=paging_pb2.Pagination(page_token="not-a-token")),
            "page.page_token",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
async def test_an_invalid_request_is_refused_naming_its_field(
    triage: Any, method: str, request_message: Any, field: str
) -> None:
    code, named = await refusal(getattr(triage.stub, method)(request_message))

    assert (code, named) == (grpc.StatusCode.INVALID_ARGUMENT, field)


async def test_a_recorded_assessment_reads_back_with_findings_in_its_language(
    triage: Any, engine: TriageEngine
) -> None:
    evidence = [
        *CARDIAC_CHEST_PAIN,
        number("E_56", 7),
        no("E_91"),
        triage_pb2.Evidence(evidence_id="E_54"),
    ]
    triaged = await triage.stub.Triage(
        triage_pb2.TriageRequest(
            patient=MAN_OF_58, evidence=evidence, language=FRENCH, patient_subject="patient-9"
        )
    )

    response = await triage.stub.GetAssessment(
        triage_pb2.GetAssessmentRequest(assessment_id=triaged.assessment_id)
    )

    assessment = response.assessment
    assert assessment.assessment_id == triaged.assessment_id
    assert assessment.patient_subject == "patient-9"
    assert assessment.patient == MAN_OF_58
    assert list(assessment.evidence) == evidence
    assert assessment.outcome.level == triaged.outcome.level
    assert assessment.outcome.instruction == triaged.outcome.instruction
    assert list(assessment.outcome.red_flags) == list(triaged.outcome.red_flags)
    findings = {finding.evidence_id: finding for finding in assessment.findings}
    assert findings["E_91"].answer == "Non"
    assert findings["E_56"].answer == "7 sur 10"
    assert findings["E_55"].answer == "haut du thorax"
    assert findings["E_54"].answer == "Ne sait pas"
    assert findings["E_91"].question == engine.kb.evidences["E_91"].question[Language.FR]
    assert response.disclaimer == DISCLAIMER[Language.FR]
    assert assessment.create_time.ToDatetime().year == 2026


async def test_an_unknown_assessment_is_not_found(triage: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await triage.stub.GetAssessment(triage_pb2.GetAssessmentRequest(assessment_id=str(uuid4())))

    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_assessments_are_listed_newest_first_filtered_and_paged(triage: Any) -> None:
    async def assess(subject: str, evidence: list[triage_pb2.Evidence]) -> str:
        response = await triage.stub.Triage(
            triage_pb2.TriageRequest(patient=MAN_OF_58, evidence=evidence, patient_subject=subject)
        )
        return str(response.assessment_id)

    start = triage.clock.now
    first = await assess("patient-1", CARDIAC_CHEST_PAIN)
    mild = await assess("patient-1", [no("E_53"), no("E_91")])
    other = await assess("patient-2", CARDIAC_CHEST_PAIN)
    mild_level = (await triage.repository.get(UUID(mild))).level

    def listing(**fields: Any) -> triage_pb2.ListAssessmentsRequest:
        return triage_pb2.ListAssessmentsRequest(**fields)

    mine = await triage.stub.ListAssessments(listing(patient_subject="patient-1"))
    assert [a.assessment_id for a in mine.assessments] == [mild, first]
    assert mine.page_info.total_size == 2
    assert not mine.page_info.next_page_token

    everyone = await triage.stub.ListAssessments(listing())
    assert [a.assessment_id for a in everyone.assessments] == [other, mild, first]

    page_one = await triage.stub.ListAssessments(
        listing(patient_subject="patient-1", page=paging_pb2.Pagination(page_size=1))
    )
    token = page_one.page_info.next_page_token
    page_two = await triage.stub.ListAssessments(
        listing(
            patient_subject="patient-1", page=paging_pb2.Pagination(page_size=1, page_token=token)
        )
    )
    assert [a.assessment_id for a in [*page_one.assessments, *page_two.assessments]] == [
        mild,
        first,
    ]
    assert not page_two.page_info.next_page_token

    emergencies = await triage.stub.ListAssessments(listing(levels=[AMBULANCE]))
    expected = [other, first] if mild_level != 1 else [other, mild, first]
    assert [a.assessment_id for a in emergencies.assessments] == expected

    after_first = Timestamp()
    after_first.FromDatetime(start + timedelta(minutes=1, seconds=30))
    later = await triage.stub.ListAssessments(
        listing(window=time_window_pb2.TimeWindow(start_time=after_first))
    )
    assert [a.assessment_id for a in later.assessments] == [other, mild]

    code, field = await refusal(
        triage.stub.ListAssessments(
            listing(patient_subject="patient-2", page=paging_pb2.Pagination(page_token=token))
        )
    )
    assert (code, field) == (grpc.StatusCode.INVALID_ARGUMENT, "page.page_token")


class UnavailableStore(InMemoryAssessmentRepository):
    """An assessment store whose database has gone away."""

    async def add(self, assessment: Assessment) -> None:
        raise StoreUnavailableError("PostgreSQL is unavailable (ConnectionRefusedError)")

    async def get(self, assessment_id: UUID) -> Assessment | None:
        raise StoreUnavailableError("PostgreSQL is unavailable (ConnectionRefusedError)")

    async def list(
        self, where: AssessmentFilter, *, page_size: int, page_token: str = ""
    ) -> AssessmentPage:
        raise StoreUnavailableError("PostgreSQL is unavailable (ConnectionRefusedError)")


async def test_without_the_database_the_patient_still_hears_the_level(
    engine: TriageEngine, outcomes: Any, serve_triage: Any
) -> None:
    stub = await serve_triage(
        TriageServicer(engine, UnavailableStore(), outcomes, callers=UNVERIFIED)
    )
    unrecorded = sample("voiceassist_triage_assessments_unrecorded_total")

    response = await stub.Triage(
        triage_pb2.TriageRequest(patient=MAN_OF_58, evidence=CARDIAC_CHEST_PAIN)
    )

    assert response.outcome.level == AMBULANCE
    assert response.outcome.instruction
    assert response.assessment_id == ""
    assert outcomes.events == []
    assert sample("voiceassist_triage_assessments_unrecorded_total") == unrecorded + 1
    with pytest.raises(grpc.aio.AioRpcError) as unavailable:
        await stub.GetAssessment(triage_pb2.GetAssessmentRequest(assessment_id=str(uuid4())))
    assert unavailable.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_without_nats_triage_answers_and_counts_the_lost_event(
    engine: TriageEngine, serve_triage: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Never started: as if NATS had been down since the service began.
    outcomes = JetStreamOutcomes("nats://127.0.0.1:1")
    repository = InMemoryAssessmentRepository()
    stub = await serve_triage(TriageServicer(engine, repository, outcomes, callers=UNVERIFIED))
    dropped = sample("voiceassist_triage_events_dropped_total", reason="not_connected")

    with caplog.at_level(logging.WARNING):
        response = await stub.Triage(
            triage_pb2.TriageRequest(
                patient=MAN_OF_58, evidence=CARDIAC_CHEST_PAIN, patient_subject="jane.doe"
            )
        )

    assert response.outcome.level == AMBULANCE
    assert await repository.get(UUID(response.assessment_id)) is not None
    assert sample("voiceassist_triage_events_dropped_total", reason="not_connected") == dropped + 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "triage.completed not published" in logged
    assert "jane" not in logged


class GatedEngine(TriageEngine):
    """The real engine, except that Triage waits until the test lets it finish."""

    def __init__(self, engine: TriageEngine) -> None:
        super().__init__(engine.kb, max_questions=engine.max_questions)
        self.entered = threading.Event()
        self.release = threading.Event()

    def triage(self, case: Case, language: Language = Language.EN) -> TriageDecision:
        self.entered.set()
        if not self.release.wait(timeout=60):
            raise TimeoutError("the test never released the engine")
        return super().triage(case, language)


async def test_a_slow_turn_does_not_hold_up_other_calls(
    engine: TriageEngine, outcomes: Any, serve_triage: Any
) -> None:
    gated = GatedEngine(engine)
    stub = await serve_triage(
        TriageServicer(gated, InMemoryAssessmentRepository(), outcomes, callers=UNVERIFIED)
    )
    slow = asyncio.ensure_future(
        stub.Triage(triage_pb2.TriageRequest(patient=MAN_OF_58, evidence=CARDIAC_CHEST_PAIN))
    )
    try:
        assert await asyncio.to_thread(gated.entered.wait, 30)

        # Answered while the engine is still busy with the first call.
        other = await stub.Diagnose(
            triage_pb2.DiagnoseRequest(patient=MAN_OF_58, evidence=CARDIAC_CHEST_PAIN)
        )
        assert other.provisional_level == AMBULANCE
        assert not slow.done()
    finally:
        gated.release.set()
    assert (await slow).outcome.level == AMBULANCE


async def test_turns_and_outcomes_are_measured_without_patient_labels(triage: Any) -> None:
    turns = sample("voiceassist_triage_turn_seconds_count", rpc="Triage")
    ambulances = sample("voiceassist_triage_outcomes_total", level="emergency_ambulance")

    await triage.stub.Triage(
        triage_pb2.TriageRequest(patient=MAN_OF_58, evidence=CARDIAC_CHEST_PAIN)
    )

    assert sample("voiceassist_triage_turn_seconds_count", rpc="Triage") == turns + 1
    assert (
        sample("voiceassist_triage_outcomes_total", level="emergency_ambulance") == ambulances + 1
    )
