"""NATS JetStream for VoiceAssist services: connect, declare streams, publish, consume, KV.

A service connects once (`connect`), makes sure the streams exist (`ensure_streams`), publishes
typed events from `voiceassist_common.events` (`publish`) and handles them with a
`DurableConsumer`. docs/events.md describes the streams and subjects.
"""

from voiceassist_common.messaging.connection import (
    NatsUnavailableError,
    connect,
    without_credentials,
)
from voiceassist_common.messaging.consumers import DurableConsumer, EventHandler
from voiceassist_common.messaging.kv import key_value
from voiceassist_common.messaging.publishing import MSG_ID_HEADER, publish
from voiceassist_common.messaging.streams import (
    AUDIT,
    AUTH,
    SCHEDULING,
    STREAMS,
    TRIAGE,
    VOICE,
    StreamConflictError,
    StreamSpec,
    ensure_streams,
    stream_for,
)

__all__ = [
    "AUDIT",
    "AUTH",
    "MSG_ID_HEADER",
    "SCHEDULING",
    "STREAMS",
    "TRIAGE",
    "VOICE",
    "DurableConsumer",
    "EventHandler",
    "NatsUnavailableError",
    "StreamConflictError",
    "StreamSpec",
    "connect",
    "ensure_streams",
    "key_value",
    "publish",
    "stream_for",
    "without_credentials",
]
