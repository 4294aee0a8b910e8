"""Events carry ids and codes in a typed envelope, and anything else is refused unread."""

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from pydantic import ValidationError
from voiceassist_common.events import (
    AuditRecordAppended,
    Event,
    EventParseError,
    TriageCompleted,
    TurnLatencies,
    UrgencyLevel,
    VoiceTurnCompleted,
    new_event,
    parse_event,
)


def completed(**overrides: object) -> TriageCompleted:
    fields: dict[str, object] = {
        "assessment_id": uuid4(),
        "level": UrgencyLevel.EMERGENCY_AMBULANCE,
        "red_flags": ("cardiac_chest_pain",),
        "conditions": ({"condition_id": "possible_nstemi_stemi", "probability": 0.62},),
        "present_evidence_ids": ("E_53", "E_55"),
        "absent_evidence_ids": ("E_91",),
        "language": "en",
        "questions_asked": 4,
        "knowledge_version": "2026.12.0+720fb639af",
    }
    return TriageCompleted.model_validate({**fields, **overrides})


def test_an_event_survives_the_trip_through_json_with_its_type() -> None:
    event = new_event(completed(), source="triage")

    parsed = parse_event(event.to_json())

    assert parsed == event
    assert isinstance(parsed.payload, TriageCompleted)
    assert parsed.payload.level is UrgencyLevel.EMERGENCY_AMBULANCE
    assert parsed.payload.conditions[0].condition_id == "possible_nstemi_stemi"


def test_the_envelope_names_the_subject_version_and_publisher() -> None:
    event = new_event(completed(), source="triage")

    assert event.type == event.subject == "triage.completed"
    assert event.schema_version == 1
    assert event.source == "triage"
    assert event.occurred_at.tzinfo is UTC


def test_times_are_stored_in_utc_and_naive_times_are_refused() -> None:
    paris = timezone(timedelta(hours=2))
    event = new_event(
        completed(), source="triage", occurred_at=datetime(2026, 5, 1, 12, 0, tzinfo=paris)
    )
    assert event.occurred_at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)

    with pytest.raises(ValidationError):
        new_event(completed(), source="triage", occurred_at=datetime(2026, 5, 1, 12, 0))


def test_a_given_event_id_is_kept_for_retries() -> None:
    event_id = uuid4()
    assert new_event(completed(), source="triage", event_id=event_id).event_id == event_id


def test_payloads_refuse_fields_they_do_not_declare() -> None:
    with pytest.raises(ValidationError):
        completed(notes="caller Jane Doe says her chest hurts")


@pytest.mark.parametrize(
    "actor_id",
    ["jane.doe@example.org", "Jane Doe", "", "x" * 200],
    ids=["email", "space", "", "long"],
)
def test_opaque_ids_cannot_hold_contact_details_or_prose(actor_id: str) -> None:
    with pytest.raises(ValidationError):
        AuditRecordAppended(
            record_id=uuid4(),
            actor_id=actor_id,
            actor_kind="clinician",
            action="appointment.book",
            resource_type="appointment",
            resource_id="a1",
            outcome="succeeded",
        )


def test_codes_are_lower_case_tokens_not_sentences() -> None:
    with pytest.raises(ValidationError):
        completed(red_flags=("Crushing chest pain since this morning",))


def test_triage_findings_are_evidence_ids_not_what_the_caller_said() -> None:
    with pytest.raises(ValidationError):
        completed(present_evidence_ids=("crushing pain in my chest",))
    with pytest.raises(ValidationError):
        completed(conditions=({"condition_id": "Heart attack, probably", "probability": 0.9},))


def test_a_probability_is_between_zero_and_one() -> None:
    with pytest.raises(ValidationError):
        completed(conditions=({"condition_id": "unstable_angina", "probability": 1.5},))


def test_latencies_cannot_be_negative() -> None:
    with pytest.raises(ValidationError):
        TurnLatencies(
            stt_seconds=-0.1,
            reasoning_seconds=0.2,
            tts_first_audio_seconds=0.1,
            end_of_speech_to_first_audio_seconds=0.4,
        )


def test_a_turn_event_carries_each_stage_latency() -> None:
    latencies = TurnLatencies(
        stt_seconds=0.12,
        reasoning_seconds=0.3,
        tts_first_audio_seconds=0.08,
        end_of_speech_to_first_audio_seconds=0.52,
    )
    event = new_event(
        VoiceTurnCompleted(session_id=uuid4(), turn_index=0, latencies=latencies),
        source="voice-proxy",
    )

    parsed = parse_event(event.to_json(), subject="voice.turn.completed")

    assert isinstance(parsed.payload, VoiceTurnCompleted)
    assert parsed.payload.latencies.end_of_speech_to_first_audio_seconds == 0.52


def test_an_envelope_whose_type_contradicts_its_payload_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not match"):
        Event[TriageCompleted](
            event_id=uuid4(),
            type="triage.session.started",
            occurred_at=datetime.now(UTC),
            source="triage",
            schema_version=1,
            payload=completed(),
        )


def test_an_event_on_the_wrong_subject_is_refused() -> None:
    event = new_event(completed(), source="triage")
    with pytest.raises(EventParseError):
        parse_event(event.to_json(), subject="triage.session.started")


def test_a_newer_schema_version_than_known_is_refused() -> None:
    event = new_event(completed(), source="triage")
    newer = event.to_json().replace(b'"schema_version":1', b'"schema_version":2')
    with pytest.raises(EventParseError, match="deploy consumers before publishers"):
        parse_event(newer)


@pytest.mark.parametrize(
    "data", [b"not json", b"[]", b"{}", b'{"type": "triage.session.exploded"}'], ids=str
)
def test_bytes_that_are_no_known_event_are_refused(data: bytes) -> None:
    with pytest.raises(EventParseError):
        parse_event(data)


def test_parse_errors_never_echo_the_values_they_reject() -> None:
    event = new_event(completed(), source="triage")
    smuggled = event.to_json().replace(b'"emergency_ambulance"', b'"Jane Doe, 555-0142"')

    with pytest.raises(EventParseError) as caught:
        parse_event(smuggled)

    assert "Jane" not in str(caught.value)
    assert "555" not in str(caught.value)
    assert "level" in str(caught.value)


def test_events_are_immutable_facts() -> None:
    event = new_event(completed(), source="triage")
    with pytest.raises(ValidationError):
        event.source = "admin"  # type: ignore[misc]


def test_the_envelope_generic_is_exposed_for_typing() -> None:
    event: Event[TriageCompleted] = new_event(completed(), source="triage")
    assert event.payload.questions_asked == 4
