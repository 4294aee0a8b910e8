"""The conversation protocol's frames (docs/voice-protocol.md) to and from ``Converse`` messages.

The browser speaks JSON text frames with a ``type`` and binary audio frames; the voice proxy
speaks ``voiceassist.voice_proxy.v1`` (a oneof ``event`` each way). This module is the whole
translation, pure and without I/O, so the relay in conversation.py only moves frames and every
rule of the mapping is tested on its own:

- JSON mirrors the proto field for field in snake_case, with the conveniences of the REST API:
  enums are lower-case names (``"consent"``, ``"emergency_ambulance"``), languages are tags
  (``"en"``, ``"fr"``), times are ISO 8601 in UTC, durations are whole seconds
  (``duration_seconds``), and a field the proto leaves empty is ``null`` where the protocol
  calls it optional (``emergency_number``, ``advice``, ``language``).
- A client frame that cannot be mapped is a `BadFrameError` (code ``voice.bad_frame``): the relay
  answers it with an ``error`` frame and the conversation goes on. Its message names the field
  at fault, never the value sent (what a patient types is PHI).
- A gRPC status that ends the stream becomes an `Ending`: the fatal ``error`` frame to send and
  the WebSocket close code (1013 "try again later" for an unavailable or busy voice proxy, 1008
  when the caller's sign-in or role was refused there, 1011 otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Final, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from voiceassist.common.v1 import clinical_pb2, language_pb2
from voiceassist.voice_proxy.v1 import voice_proxy_pb2 as pb

BAD_FRAME: Final = "voice.bad_frame"
FRAME_TOO_LARGE: Final = "voice.frame_too_large"
TOO_MANY_FRAMES: Final = "voice.too_many_frames"
IDLE_TIMEOUT: Final = "voice.idle_timeout"

CLOSE_NORMAL: Final = 1000
CLOSE_POLICY_VIOLATION: Final = 1008
CLOSE_INTERNAL_ERROR: Final = 1011
CLOSE_TRY_AGAIN_LATER: Final = 1013

_UINT32_MAX: Final = 2**32 - 1
_MAX_ID_LENGTH: Final = 128

JsonObject = dict[str, Any]
_T = TypeVar("_T")


class BadFrameError(ValueError):
    """A client frame that does not follow the protocol; the conversation goes on."""

    def __init__(self, message: str, code: str = BAD_FRAME) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------
# Client to server
# ---------------------------------------------------------------------------------------------

_LANGUAGES_IN: Mapping[str, language_pb2.Language.ValueType] = {
    "en": language_pb2.LANGUAGE_ENGLISH,
    "fr": language_pb2.LANGUAGE_FRENCH,
    "ur": language_pb2.LANGUAGE_URDU,
}
_CHANNELS_IN: Mapping[str, pb.Channel.ValueType] = {
    "voice": pb.CHANNEL_VOICE,
    "text": pb.CHANNEL_TEXT,
}
_ACTIONS_IN: Mapping[str, pb.ClientAction.ValueType] = {
    "end_of_turn": pb.CLIENT_ACTION_END_OF_TURN,
    "stop_audio": pb.CLIENT_ACTION_STOP_AUDIO,
    "end_session": pb.CLIENT_ACTION_END_SESSION,
    "withdraw_audio_consent": pb.CLIENT_ACTION_WITHDRAW_AUDIO_CONSENT,
}


def parse_text_frame(data: str) -> JsonObject:
    """Return the JSON object of a text frame, or raise `BadFrameError`."""
    try:
        frame = json.loads(data)
    except ValueError:
        raise BadFrameError("A text frame must be a JSON object.") from None
    if not isinstance(frame, dict):
        raise BadFrameError("A text frame must be a JSON object.")
    kind = frame.get("type")
    if not isinstance(kind, str):
        raise BadFrameError("A text frame needs a 'type'.")
    return frame


def frame_type(frame: Mapping[str, Any]) -> str:
    """Return the ``type`` of a parsed frame."""
    return str(frame["type"])


def request_of(frame: Mapping[str, Any]) -> pb.ConverseRequest:
    """Return the ``ConverseRequest`` of a parsed client text frame, or raise `BadFrameError`."""
    kind = frame_type(frame)
    to_request = _REQUESTS.get(kind)
    if to_request is None:
        known = ", ".join(sorted(_REQUESTS))
        raise BadFrameError(f"Unknown frame type; expected one of {known}.")
    return to_request(frame)


def audio_request(data: bytes) -> pb.ConverseRequest:
    """Return the ``ConverseRequest`` carrying one binary frame of the patient's audio."""
    return pb.ConverseRequest(audio=data)


def _session_start(frame: Mapping[str, Any]) -> pb.ConverseRequest:
    start = pb.ConversationStart(
        session_id=_optional_id(frame, "session_id"),
        language=_choice(frame, "language", _LANGUAGES_IN, language_pb2.LANGUAGE_UNSPECIFIED),
        # The doc's default: the microphone is the product; text is the fallback.
        channel=_choice(frame, "channel", _CHANNELS_IN, pb.CHANNEL_VOICE),
        input_sample_rate_hertz=_rate(frame, "sample_rate"),
        output_sample_rate_hertz=_rate(frame, "output_sample_rate"),
        # Opt-in: only an explicit true (the patient ticked the consent) keeps audio.
        audio_retention_consent=_flag(frame, "audio_retention_consent"),
    )
    return pb.ConverseRequest(start=start)


def _text(frame: Mapping[str, Any]) -> pb.ConverseRequest:
    text = frame.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadFrameError("'text' must be a non-empty string.")
    return pb.ConverseRequest(text=text)


def _action(frame: Mapping[str, Any]) -> pb.ConverseRequest:
    action = frame.get("action")
    if not isinstance(action, str) or action not in _ACTIONS_IN:
        raise BadFrameError(f"'action' must be one of {', '.join(_ACTIONS_IN)}.")
    return pb.ConverseRequest(action=_ACTIONS_IN[action])


def _slot_select(frame: Mapping[str, Any]) -> pb.ConverseRequest:
    slot_id = _optional_id(frame, "slot_id")
    if not slot_id:
        raise BadFrameError("'slot_id' must be the id of an offered slot.")
    return pb.ConverseRequest(select_slot_id=slot_id)


_REQUESTS: Mapping[str, Callable[[Mapping[str, Any]], pb.ConverseRequest]] = {
    "session.start": _session_start,
    "text": _text,
    "action": _action,
    "slot.select": _slot_select,
}

CLIENT_TYPES: Final = frozenset(_REQUESTS)
"""The text frame types a client may send."""


def _optional_id(frame: Mapping[str, Any], name: str) -> str:
    value = frame.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > _MAX_ID_LENGTH:
        raise BadFrameError(f"'{name}' must be a string of at most {_MAX_ID_LENGTH} characters.")
    return value


def _choice(frame: Mapping[str, Any], name: str, choices: Mapping[str, _T], default: _T) -> _T:
    value = frame.get(name)
    if value is None:
        return default
    if not isinstance(value, str) or value not in choices:
        raise BadFrameError(f"'{name}' must be one of {', '.join(choices)}.")
    return choices[value]


def _flag(frame: Mapping[str, Any], name: str) -> bool:
    """Return a JSON boolean (absent: false); anything else, "yes" or 1 included, is refused."""
    value = frame.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadFrameError(f"'{name}' must be true or false.")
    return value


def _rate(frame: Mapping[str, Any], name: str) -> int:
    """Return a sample rate in hertz (0: the default); the voice proxy judges the value."""
    value = frame.get(name)
    if value is None:
        return 0
    # bool is an int in Python; JSON's true is not a rate.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _UINT32_MAX:
        raise BadFrameError(f"'{name}' must be a positive whole number of hertz.")
    return value


# ---------------------------------------------------------------------------------------------
# Server to client
# ---------------------------------------------------------------------------------------------

_LANGUAGES_OUT: Mapping[int, str] = {value: tag for tag, value in _LANGUAGES_IN.items()}


def frame_of(response: pb.ConverseResponse) -> JsonObject | bytes | None:
    """Return the client frame of a ``ConverseResponse``: JSON, audio bytes, or None if empty.

    None answers a response with no event set (from a newer voice proxy, say): nothing to send.
    """
    event = response.WhichOneof("event")
    if event is None:
        return None
    if event == "audio":
        return response.audio
    return _FRAMES[event](getattr(response, event))


def is_fatal_error(response: pb.ConverseResponse) -> bool:
    """Whether the response is an error after which the voice proxy ends the stream."""
    return response.WhichOneof("event") == "error" and response.error.fatal


def _session_started(event: pb.SessionStarted) -> JsonObject:
    return {
        "type": "session.started",
        "session_id": event.session_id,
        "resumed": event.resumed,
        "stage": _stage(event.stage),
        "language": _LANGUAGES_OUT.get(event.language),
        "audio_retention_consent": event.audio_retention_consent,
    }


def _transcript(event: pb.Transcript) -> JsonObject:
    return {
        "type": "transcript.final" if event.final else "transcript.partial",
        "text": event.text,
        "turn": event.turn,
    }


def _assistant_text(event: pb.AssistantText) -> JsonObject:
    return {
        "type": "assistant.text",
        "text": event.text,
        "stage": _stage(event.stage),
        "interruptible": event.interruptible,
        "quick_replies": [{"text": reply.text} for reply in event.quick_replies],
        "utterance_id": event.utterance_id,
    }


def _triage_result(event: pb.TriageResult) -> JsonObject:
    return {
        "type": "triage.result",
        "level": _urgency(event.level),
        "instruction": event.instruction,
        "reasons": list(event.reasons),
        "conditions": [
            {"name": condition.name, "probability": condition.probability}
            for condition in event.conditions
        ],
        "disclaimer": event.disclaimer,
        "assessment_id": event.assessment_id,
        "emergency_number": event.emergency_number or None,
        "bookable": event.bookable,
    }


def _booking_offer(event: pb.BookingOffer) -> JsonObject:
    return {
        "type": "booking.offer",
        "practitioners": [
            {
                "practitioner_id": practitioner.practitioner_id,
                "display_name": practitioner.display_name,
                "practice": practitioner.practice,
                "timezone": practitioner.timezone,
                "slots": [
                    {
                        "slot_id": slot.slot_id,
                        "start_time": _time(slot.start_time),
                        "duration_seconds": slot.duration.seconds,
                        "spoken_time": slot.spoken_time,
                    }
                    for slot in practitioner.slots
                ],
            }
            for practitioner in event.practitioners
        ],
        "advice": event.advice or None,
    }


def _booking_confirmed(event: pb.BookingConfirmed) -> JsonObject:
    return {
        "type": "booking.confirmed",
        "appointment_id": event.appointment_id,
        "practitioner_name": event.practitioner_name,
        "practice": event.practice,
        "start_time": _time(event.start_time),
        "spoken_time": event.spoken_time,
    }


def _audio_start(event: pb.AudioStart) -> JsonObject:
    return {
        "type": "audio.start",
        "utterance_id": event.utterance_id,
        "sample_rate": event.sample_rate_hertz,
    }


def _audio_end(event: pb.AudioEnd) -> JsonObject:
    return {
        "type": "audio.end",
        "utterance_id": event.utterance_id,
        "interrupted": event.interrupted,
    }


def _interrupt(event: pb.Interrupt) -> JsonObject:
    return {"type": "interrupt", "utterance_id": event.utterance_id, "reason": event.reason}


def _audio_retention(event: pb.AudioRetention) -> JsonObject:
    return {
        "type": "audio.retention",
        "consent": event.consent,
        "recordings_deleted": event.recordings_deleted,
    }


def _error(event: pb.ConversationError) -> JsonObject:
    return error_frame(event.code, event.message, fatal=event.fatal)


_FRAMES: Mapping[str, Callable[[Any], JsonObject]] = {
    "session_started": _session_started,
    "transcript": _transcript,
    "assistant_text": _assistant_text,
    "triage_result": _triage_result,
    "booking_offer": _booking_offer,
    "booking_confirmed": _booking_confirmed,
    "audio_start": _audio_start,
    "audio_end": _audio_end,
    "interrupt": _interrupt,
    "error": _error,
    "audio_retention": _audio_retention,
}


def error_frame(code: str, message: str, *, fatal: bool) -> JsonObject:
    """Return an ``error`` frame."""
    return {"type": "error", "code": code, "message": message, "fatal": fatal}


def _stage(value: int) -> str | None:
    if value == pb.DIALOG_STAGE_UNSPECIFIED:
        return None
    return (
        pb.DialogStage.Name(pb.DialogStage.ValueType(value)).removeprefix("DIALOG_STAGE_").lower()
    )


def _urgency(value: int) -> str | None:
    if value == clinical_pb2.URGENCY_LEVEL_UNSPECIFIED:
        return None
    name = clinical_pb2.UrgencyLevel.Name(clinical_pb2.UrgencyLevel.ValueType(value))
    return name.removeprefix("URGENCY_LEVEL_").lower()


def _time(value: Timestamp) -> str | None:
    if not value.seconds and not value.nanos:
        return None
    return value.ToDatetime(tzinfo=UTC).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------
# How a conversation ends
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ending:
    """How the gateway ends a socket: the last frame to send (if any) and the close code."""

    close_code: int
    frame: JsonObject | None = None
    reason: str = ""


_MESSAGES: Mapping[str, Mapping[str, str]] = {
    "voice.service_unavailable": {
        "en": "The voice assistant is unavailable right now. Please try again in a moment.",
        "fr": "L'assistant vocal est indisponible. Réessayez dans un instant.",
    },
    "voice.service_busy": {
        "en": "The voice assistant is busy. Please try again in a moment.",
        "fr": "L'assistant vocal est occupé. Réessayez dans un instant.",
    },
    "voice.unauthenticated": {
        "en": "Your sign-in was not accepted. Please sign in again.",
        "fr": "Votre connexion n'a pas été acceptée. Reconnectez-vous.",
    },
    "voice.forbidden": {
        "en": "Your account cannot use the voice assistant.",
        "fr": "Votre compte ne peut pas utiliser l'assistant vocal.",
    },
    "voice.session_not_found": {
        "en": "This conversation cannot be resumed. Please start a new one.",
        "fr": "Cette conversation ne peut pas reprendre. Commencez-en une nouvelle.",
    },
    "voice.rejected": {
        "en": "The voice assistant could not continue this conversation.",
        "fr": "L'assistant vocal n'a pas pu poursuivre cette conversation.",
    },
    "voice.timeout": {
        "en": "The voice assistant did not answer in time. Please try again.",
        "fr": "L'assistant vocal n'a pas répondu à temps. Réessayez.",
    },
    "voice.internal": {
        "en": "Something went wrong in the voice assistant. Please start again.",
        "fr": "Un problème est survenu dans l'assistant vocal. Recommencez.",
    },
    IDLE_TIMEOUT: {
        "en": "The conversation was closed after a long silence. You can resume it.",
        "fr": "La conversation a été fermée après un long silence. Vous pouvez la reprendre.",
    },
    TOO_MANY_FRAMES: {
        "en": "Too many messages were sent too fast; the conversation was closed.",
        "fr": "Trop de messages ont été envoyés trop vite ; la conversation a été fermée.",
    },
}

_STATUS_ENDINGS: Mapping[grpc.StatusCode, tuple[str, int]] = {
    grpc.StatusCode.UNAVAILABLE: ("voice.service_unavailable", CLOSE_TRY_AGAIN_LATER),
    grpc.StatusCode.RESOURCE_EXHAUSTED: ("voice.service_busy", CLOSE_TRY_AGAIN_LATER),
    grpc.StatusCode.UNAUTHENTICATED: ("voice.unauthenticated", CLOSE_POLICY_VIOLATION),
    grpc.StatusCode.PERMISSION_DENIED: ("voice.forbidden", CLOSE_POLICY_VIOLATION),
    grpc.StatusCode.NOT_FOUND: ("voice.session_not_found", CLOSE_INTERNAL_ERROR),
    grpc.StatusCode.FAILED_PRECONDITION: ("voice.session_not_found", CLOSE_INTERNAL_ERROR),
    grpc.StatusCode.INVALID_ARGUMENT: ("voice.rejected", CLOSE_POLICY_VIOLATION),
    grpc.StatusCode.DEADLINE_EXCEEDED: ("voice.timeout", CLOSE_INTERNAL_ERROR),
}


def message(code: str, language: str) -> str:
    """Return the gateway's words for ``code`` in the conversation's language (default English)."""
    texts = _MESSAGES.get(code, _MESSAGES["voice.internal"])
    return texts.get(language, texts["en"])


def ending_of_status(code: grpc.StatusCode, language: str = "en") -> Ending:
    """Return how to end the socket when the ``Converse`` stream ended with status ``code``.

    OK ends it normally; any other status sends a fatal ``error`` frame in the gateway's words
    (a service's own wording may describe the failure in its terms) and closes with its code.
    CANCELLED is the gateway's own doing (the client left) and is treated like the others only
    if it ever reaches here.
    """
    if code is grpc.StatusCode.OK:
        return Ending(CLOSE_NORMAL, reason="conversation ended")
    error_code, close_code = _STATUS_ENDINGS.get(code, ("voice.internal", CLOSE_INTERNAL_ERROR))
    frame = error_frame(error_code, message(error_code, language), fatal=True)
    return Ending(close_code, frame, reason=error_code)


def ending_for(error_code: str, close_code: int, language: str = "en") -> Ending:
    """Return the ending the gateway itself decides (idle socket, too many frames)."""
    frame = error_frame(error_code, message(error_code, language), fatal=True)
    return Ending(close_code, frame, reason=error_code)


def language_tag(request: pb.ConverseRequest) -> str:
    """Return the tag of a start request's language, for the gateway's own messages."""
    return _LANGUAGES_OUT.get(request.start.language, "en")
