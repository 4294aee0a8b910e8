"""Typed events published on NATS JetStream, one pydantic model per subject.

Publish with `voiceassist_common.messaging.publish(js, new_event(payload, source=...))`;
consume with `voiceassist_common.messaging.DurableConsumer`, which parses by subject through
`parse_event`. docs/events.md documents every subject and is generated from these models.
"""

from voiceassist_common.events.audit import ActorKind, AuditOutcome, AuditRecordAppended
from voiceassist_common.events.auth import GuestSessionUpgraded
from voiceassist_common.events.envelope import (
    Code,
    Event,
    EventPayload,
    LanguageTag,
    OpaqueId,
    ServiceName,
    new_event,
)
from voiceassist_common.events.registry import (
    EVENT_TYPES,
    PAYLOAD_TYPES,
    EventParseError,
    parse_event,
    payload_type,
)
from voiceassist_common.events.scheduling import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    CancellationReason,
)
from voiceassist_common.events.triage import (
    ConditionProbability,
    KnowledgeVersion,
    TriageCompleted,
    TriageSessionStarted,
    UrgencyLevel,
)
from voiceassist_common.events.voice import (
    TurnLatencies,
    VoiceSessionEnded,
    VoiceSessionEndReason,
    VoiceSessionStarted,
    VoiceTransport,
    VoiceTurnCompleted,
)

__all__ = [
    "EVENT_TYPES",
    "PAYLOAD_TYPES",
    "ActorKind",
    "AppointmentBooked",
    "AppointmentCancelled",
    "AppointmentRescheduled",
    "AuditOutcome",
    "AuditRecordAppended",
    "CancellationReason",
    "Code",
    "ConditionProbability",
    "Event",
    "EventParseError",
    "EventPayload",
    "GuestSessionUpgraded",
    "KnowledgeVersion",
    "LanguageTag",
    "OpaqueId",
    "ServiceName",
    "TriageCompleted",
    "TriageSessionStarted",
    "TurnLatencies",
    "UrgencyLevel",
    "VoiceSessionEndReason",
    "VoiceSessionEnded",
    "VoiceSessionStarted",
    "VoiceTransport",
    "VoiceTurnCompleted",
    "new_event",
    "parse_event",
    "payload_type",
]
