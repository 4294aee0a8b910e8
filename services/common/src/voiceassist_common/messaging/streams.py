"""The JetStream streams VoiceAssist events are kept in: one per family of subjects.

A stream is where an event waits until every consumer has processed it, so a consumer that is
down or slow loses nothing. Declaring the streams in code, and reconciling the server with the
declaration at start-up, keeps every environment's limits the same and reviewable in one place
(docs/events.md lists them, generated from `STREAMS`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from voiceassist_common.logging import safe

logger = logging.getLogger(__name__)

_MiB = 1024 * 1024


@dataclass(frozen=True)
class StreamSpec:
    """What one stream holds and for how long."""

    name: str
    subjects: tuple[str, ...]
    description: str
    max_age: timedelta
    max_bytes: int
    discard: DiscardPolicy = DiscardPolicy.OLD
    duplicate_window: timedelta = timedelta(minutes=2)
    # Events carry ids, not documents; a large message is a bug (or PHI) and is refused.
    max_msg_size: int = 64 * 1024

    def config(self) -> StreamConfig:
        """Return the JetStream configuration this spec stands for."""
        return StreamConfig(
            name=self.name,
            description=self.description,
            subjects=list(self.subjects),
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=1,
            max_age=self.max_age.total_seconds(),
            max_bytes=self.max_bytes,
            max_msg_size=self.max_msg_size,
            discard=self.discard,
            duplicate_window=self.duplicate_window.total_seconds(),
        )

    def covers(self, subject: str) -> bool:
        """Whether ``subject`` is stored in this stream."""
        return any(_matches(pattern, subject) for pattern in self.subjects)


AUDIT = StreamSpec(
    name="AUDIT",
    subjects=("audit.>",),
    description="Audit records on their way to the audit trail",
    max_age=timedelta(days=30),
    max_bytes=512 * _MiB,
    # Refuse new records rather than silently drop old ones the trail may not have yet.
    discard=DiscardPolicy.NEW,
)
AUTH = StreamSpec(
    name="AUTH",
    subjects=("auth.>",),
    description="Identity changes other services act on (guest sessions joined to accounts)",
    # Long enough for a consumer that is down over a weekend to still move a guest's records.
    max_age=timedelta(days=7),
    max_bytes=64 * _MiB,
    # Refuse new events rather than drop one a consumer has not read: a lost upgrade leaves the
    # guest's assessments out of reach of their account.
    discard=DiscardPolicy.NEW,
)
TRIAGE = StreamSpec(
    name="TRIAGE",
    subjects=("triage.>",),
    description="Triage sessions started and completed",
    max_age=timedelta(days=7),
    max_bytes=256 * _MiB,
)
SCHEDULING = StreamSpec(
    name="SCHEDULING",
    subjects=("scheduling.>",),
    description="Appointments booked, cancelled and rescheduled",
    max_age=timedelta(days=7),
    max_bytes=256 * _MiB,
)
VOICE = StreamSpec(
    name="VOICE",
    subjects=("voice.>",),
    description="Voice sessions and per-turn latencies",
    max_age=timedelta(days=1),
    max_bytes=256 * _MiB,
)

STREAMS: tuple[StreamSpec, ...] = (AUDIT, AUTH, TRIAGE, SCHEDULING, VOICE)
"""Every stream VoiceAssist declares."""

# The settings ensure_streams owns; anything else on a stream is left as the server has it.
_RECONCILED = (
    "description",
    "subjects",
    "retention",
    "storage",
    "num_replicas",
    "max_age",
    "max_bytes",
    "max_msg_size",
    "discard",
    "duplicate_window",
)


class StreamConflictError(RuntimeError):
    """A stream exists with settings JetStream cannot change in place (storage, retention)."""


def stream_for(subject: str, streams: tuple[StreamSpec, ...] = STREAMS) -> StreamSpec:
    """Return the stream that stores ``subject``; LookupError when no stream does."""
    for spec in streams:
        if spec.covers(subject):
            return spec
    raise LookupError(f"no stream stores subject {subject!r}")


async def ensure_streams(js: JetStreamContext, streams: tuple[StreamSpec, ...] = STREAMS) -> None:
    """Create each stream that is missing and update each whose settings differ.

    Safe to call from every service at every start, concurrently: an unchanged stream is left
    alone and keeps its messages.
    """
    for spec in streams:
        await _ensure_stream(js, spec)


async def _ensure_stream(js: JetStreamContext, spec: StreamSpec) -> None:
    wanted = spec.config()
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(wanted)
        logger.info("created stream %s", safe(spec.name))
        return
    current = info.config
    differing = [key for key in _RECONCILED if getattr(current, key) != getattr(wanted, key)]
    if not differing:
        return
    for fixed in ("storage", "retention"):
        if fixed in differing:
            raise StreamConflictError(
                f"stream {spec.name} has {fixed} {getattr(current, fixed)}, declared "
                f"{getattr(wanted, fixed)}; JetStream cannot change it in place: move the "
                "messages elsewhere and delete the stream"
            )
    # Keep what we do not own (sealed, deny_delete, …) as the server has it.
    await js.update_stream(current.evolve(**{key: getattr(wanted, key) for key in differing}))
    logger.info("updated stream %s (%s)", safe(spec.name), safe(", ".join(differing)))


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a final ``>`` is one or more."""
    wanted = pattern.split(".")
    given = subject.split(".")
    for index, part in enumerate(wanted):
        if part == ">":
            return len(given) > index
        if index >= len(given) or part not in ("*", given[index]):
            return False
    return len(wanted) == len(given)
