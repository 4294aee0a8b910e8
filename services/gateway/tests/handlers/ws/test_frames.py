"""The conversation protocol's JSON frames map to Converse messages and back, field for field."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from voiceassist.common.v1 import clinical_pb2, language_pb2
from voiceassist.voice_proxy.v1 import voice_proxy_pb2 as pb
from voiceassist_gateway.handlers.ws import frames
from voiceassist_gateway.handlers.ws.frames import BadFrameError


def request(frame: dict[str, object]) -> pb.ConverseRequest:
    return frames.request_of(frames.parse_text_frame(json.dumps(frame)))


def test_session_start_carries_every_field_to_conversation_start() -> None:
    message = request(
        {
            "type": "session.start",
            "session_id": "conv-1",
            "language": "fr",
            "channel": "text",
            "sample_rate": 48000,
            "output_sample_rate": 16000,
            "audio_retention_consent": True,
        }
    )

    assert message.start == pb.ConversationStart(
        session_id="conv-1",
        language=language_pb2.LANGUAGE_FRENCH,
        channel=pb.CHANNEL_TEXT,
        input_sample_rate_hertz=48000,
        output_sample_rate_hertz=16000,
        audio_retention_consent=True,
    )
    assert frames.language_tag(message) == "fr"


def test_a_bare_session_start_is_a_new_voice_conversation_with_default_rates() -> None:
    start = request({"type": "session.start"}).start

    assert start == pb.ConversationStart(channel=pb.CHANNEL_VOICE)
    assert start.audio_retention_consent is False  # no audio is kept unless the patient opts in


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ({"type": "text", "text": "sore throat"}, pb.ConverseRequest(text="sore throat")),
        (
            {"type": "action", "action": "end_of_turn"},
            pb.ConverseRequest(action=pb.CLIENT_ACTION_END_OF_TURN),
        ),
        (
            {"type": "action", "action": "stop_audio"},
            pb.ConverseRequest(action=pb.CLIENT_ACTION_STOP_AUDIO),
        ),
        (
            {"type": "action", "action": "end_session"},
            pb.ConverseRequest(action=pb.CLIENT_ACTION_END_SESSION),
        ),
        (
            {"type": "action", "action": "withdraw_audio_consent"},
            pb.ConverseRequest(action=pb.CLIENT_ACTION_WITHDRAW_AUDIO_CONSENT),
        ),
        ({"type": "slot.select", "slot_id": "slot-9"}, pb.ConverseRequest(select_slot_id="slot-9")),
    ],
)
def test_client_frames_become_their_request_event(
    frame: dict[str, object], expected: pb.ConverseRequest
) -> None:
    assert request(frame) == expected


def test_binary_frames_are_audio() -> None:
    assert frames.audio_request(b"\x01\x02").audio == b"\x01\x02"


@pytest.mark.parametrize(
    "data",
    ["not json", "[1, 2]", '"text"', "{}", '{"type": 3}'],
)
def test_a_text_frame_that_is_not_a_typed_json_object_is_a_bad_frame(data: str) -> None:
    with pytest.raises(BadFrameError) as bad:
        frames.parse_text_frame(data)

    assert bad.value.code == "voice.bad_frame"


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"type": "dance"}, "expected one of"),
        ({"type": "text"}, "'text'"),
        ({"type": "text", "text": "   "}, "'text'"),
        ({"type": "action", "action": "sing"}, "'action'"),
        ({"type": "slot.select"}, "'slot_id'"),
        ({"type": "session.start", "language": "de"}, "'language'"),
        ({"type": "session.start", "channel": "fax"}, "'channel'"),
        ({"type": "session.start", "sample_rate": "fast"}, "'sample_rate'"),
        ({"type": "session.start", "sample_rate": True}, "'sample_rate'"),
        ({"type": "session.start", "sample_rate": -8000}, "'sample_rate'"),
        ({"type": "session.start", "session_id": "x" * 500}, "'session_id'"),
        ({"type": "session.start", "audio_retention_consent": "yes"}, "'audio_retention_consent'"),
        ({"type": "session.start", "audio_retention_consent": 1}, "'audio_retention_consent'"),
    ],
)
def test_a_frame_with_a_missing_or_wrong_field_names_the_field_not_the_value(
    frame: dict[str, object], field: str
) -> None:
    with pytest.raises(BadFrameError) as bad:
        request(frame)

    assert field in bad.value.message
    assert "xxxxx" not in bad.value.message


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def test_server_events_become_typed_json_frames() -> None:
    started = pb.ConverseResponse(
        session_started=pb.SessionStarted(
            session_id="conv-1",
            resumed=True,
            stage=pb.DIALOG_STAGE_INTERVIEW,
            language=language_pb2.LANGUAGE_ENGLISH,
            audio_retention_consent=True,
        )
    )
    partial = pb.ConverseResponse(transcript=pb.Transcript(text="my thr", turn=2))
    final = pb.ConverseResponse(transcript=pb.Transcript(text="my throat", final=True, turn=2))
    said = pb.ConverseResponse(
        assistant_text=pb.AssistantText(
            text="Do you have a fever?",
            stage=pb.DIALOG_STAGE_INTERVIEW,
            interruptible=True,
            quick_replies=[pb.QuickReply(text="Yes"), pb.QuickReply(text="No")],
            utterance_id="u-3",
        )
    )

    assert frames.frame_of(started) == {
        "type": "session.started",
        "session_id": "conv-1",
        "resumed": True,
        "stage": "interview",
        "language": "en",
        "audio_retention_consent": True,
    }
    assert frames.frame_of(partial) == {"type": "transcript.partial", "text": "my thr", "turn": 2}
    assert frames.frame_of(final) == {"type": "transcript.final", "text": "my throat", "turn": 2}
    assert frames.frame_of(said) == {
        "type": "assistant.text",
        "text": "Do you have a fever?",
        "stage": "interview",
        "interruptible": True,
        "quick_replies": [{"text": "Yes"}, {"text": "No"}],
        "utterance_id": "u-3",
    }


def test_an_emergency_result_names_its_level_and_the_number_to_call() -> None:
    result = pb.ConverseResponse(
        triage_result=pb.TriageResult(
            level=clinical_pb2.URGENCY_LEVEL_EMERGENCY_AMBULANCE,
            instruction="Call 112 now.",
            reasons=["Chest pain spreading to the arm"],
            conditions=[pb.LikelyCondition(name="Heart attack", probability=0.8)],
            disclaimer="This is not a diagnosis.",
            assessment_id="a-1",
            emergency_number="112",
        )
    )
    advice = pb.ConverseResponse(
        triage_result=pb.TriageResult(
            level=clinical_pb2.URGENCY_LEVEL_SELF_CARE, disclaimer="Not a diagnosis.", bookable=True
        )
    )

    assert frames.frame_of(result) == {
        "type": "triage.result",
        "level": "emergency_ambulance",
        "instruction": "Call 112 now.",
        "reasons": ["Chest pain spreading to the arm"],
        "conditions": [{"name": "Heart attack", "probability": 0.8}],
        "disclaimer": "This is not a diagnosis.",
        "assessment_id": "a-1",
        "emergency_number": "112",
        "bookable": False,
    }
    advised = frames.frame_of(advice)
    assert isinstance(advised, dict)
    assert advised["emergency_number"] is None


def test_a_booking_offer_and_confirmation_carry_utc_times() -> None:
    start = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    offer = pb.ConverseResponse(
        booking_offer=pb.BookingOffer(
            practitioners=[
                pb.OfferedPractitioner(
                    practitioner_id="p-1",
                    display_name="Dr Claire Martin",
                    practice="Cabinet Martin, Lyon",
                    timezone="Europe/Paris",
                    slots=[
                        pb.OfferedSlot(
                            slot_id="s-1",
                            start_time=timestamp(start),
                            duration=Duration(seconds=900),
                            spoken_time="Tuesday at ten",
                        )
                    ],
                )
            ]
        )
    )
    nothing = pb.ConverseResponse(booking_offer=pb.BookingOffer(advice="Call the practice."))
    confirmed = pb.ConverseResponse(
        booking_confirmed=pb.BookingConfirmed(
            appointment_id="ap-1",
            practitioner_name="Dr Claire Martin",
            practice="Cabinet Martin, Lyon",
            start_time=timestamp(start),
            spoken_time="Tuesday at ten",
        )
    )

    assert frames.frame_of(offer) == {
        "type": "booking.offer",
        "practitioners": [
            {
                "practitioner_id": "p-1",
                "display_name": "Dr Claire Martin",
                "practice": "Cabinet Martin, Lyon",
                "timezone": "Europe/Paris",
                "slots": [
                    {
                        "slot_id": "s-1",
                        "start_time": "2026-03-03T09:00:00Z",
                        "duration_seconds": 900,
                        "spoken_time": "Tuesday at ten",
                    }
                ],
            }
        ],
        "advice": None,
    }
    assert frames.frame_of(nothing) == {
        "type": "booking.offer",
        "practitioners": [],
        "advice": "Call the practice.",
    }
    assert frames.frame_of(confirmed) == {
        "type": "booking.confirmed",
        "appointment_id": "ap-1",
        "practitioner_name": "Dr Claire Martin",
        "practice": "Cabinet Martin, Lyon",
        "start_time": "2026-03-03T09:00:00Z",
        "spoken_time": "Tuesday at ten",
    }


def test_reply_audio_is_framed_by_start_and_end_events() -> None:
    start = pb.ConverseResponse(
        audio_start=pb.AudioStart(utterance_id="u-1", sample_rate_hertz=24000)
    )
    end = pb.ConverseResponse(audio_end=pb.AudioEnd(utterance_id="u-1", interrupted=True))
    cut = pb.ConverseResponse(interrupt=pb.Interrupt(utterance_id="u-1", reason="barge_in"))

    assert frames.frame_of(start) == {
        "type": "audio.start",
        "utterance_id": "u-1",
        "sample_rate": 24000,
    }
    assert frames.frame_of(pb.ConverseResponse(audio=b"\x00\x01")) == b"\x00\x01"
    assert frames.frame_of(end) == {"type": "audio.end", "utterance_id": "u-1", "interrupted": True}
    assert frames.frame_of(cut) == {
        "type": "interrupt",
        "utterance_id": "u-1",
        "reason": "barge_in",
    }
    assert frames.frame_of(pb.ConverseResponse()) is None


def test_the_voice_proxys_errors_pass_through_with_their_fatality() -> None:
    busy = pb.ConverseResponse(
        error=pb.ConversationError(code="voice.service_busy", message="Busy.", fatal=False)
    )
    fatal = pb.ConverseResponse(error=pb.ConversationError(code="voice.x", message="M", fatal=True))

    assert frames.frame_of(busy) == {
        "type": "error",
        "code": "voice.service_busy",
        "message": "Busy.",
        "fatal": False,
    }
    assert not frames.is_fatal_error(busy)
    assert frames.is_fatal_error(fatal)


@pytest.mark.parametrize(
    ("status", "code", "close"),
    [
        (grpc.StatusCode.UNAVAILABLE, "voice.service_unavailable", 1013),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "voice.service_busy", 1013),
        (grpc.StatusCode.UNAUTHENTICATED, "voice.unauthenticated", 1008),
        (grpc.StatusCode.PERMISSION_DENIED, "voice.forbidden", 1008),
        (grpc.StatusCode.NOT_FOUND, "voice.session_not_found", 1011),
        (grpc.StatusCode.INTERNAL, "voice.internal", 1011),
        (grpc.StatusCode.UNKNOWN, "voice.internal", 1011),
    ],
)
def test_a_failed_stream_ends_with_a_fatal_error_and_its_close_code(
    status: grpc.StatusCode, code: str, close: int
) -> None:
    ending = frames.ending_of_status(status)

    assert ending.close_code == close
    assert ending.frame is not None
    assert (ending.frame["type"], ending.frame["code"], ending.frame["fatal"]) == (
        "error",
        code,
        True,
    )


def test_the_gateways_own_messages_follow_the_conversations_language() -> None:
    english = frames.ending_of_status(grpc.StatusCode.UNAVAILABLE, "en").frame
    french = frames.ending_of_status(grpc.StatusCode.UNAVAILABLE, "fr").frame
    other = frames.ending_of_status(grpc.StatusCode.UNAVAILABLE, "ur").frame

    assert english is not None
    assert french is not None
    assert other is not None
    assert "try again" in english["message"]
    assert "Réessayez" in french["message"]
    assert other["message"] == english["message"]


def test_a_stream_that_ends_normally_closes_the_socket_normally() -> None:
    ending = frames.ending_of_status(grpc.StatusCode.OK)

    assert (ending.close_code, ending.frame) == (1000, None)


def test_a_withdrawal_is_confirmed_with_how_many_recordings_were_deleted() -> None:
    withdrawn = pb.ConverseResponse(
        audio_retention=pb.AudioRetention(consent=False, recordings_deleted=3)
    )

    assert frames.frame_of(withdrawn) == {
        "type": "audio.retention",
        "consent": False,
        "recordings_deleted": 3,
    }
