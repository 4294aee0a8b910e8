"""The audit trail as a service sees it: one call per action, which never fails the action.

Every read or change of patient data, every sign-in and every role or MFA change must leave a
record, yet a request must not fail because the message bus is restarting. So `AuditTrail.record`
never raises: it publishes an `AuditRecordAppended` to JetStream and, when that fails, keeps the
record in a bounded in-memory buffer that a background task retries, in order, until NATS is
back. The admin service appends each record to a hash-chained table exactly once (by
``record_id``), so publishing a record twice is harmless.

Records carry ids and codes only. A value that is not a valid id or code (an e-mail address, a
sentence) is replaced by ``invalid`` and the field named in an error log, so the record is
still kept and no free text ever reaches the bus.

Metrics:

``voiceassist_audit_records_total{source,outcome}``
    Records handled by this process: ``published`` at once, ``buffered`` for a retry,
    ``retried`` (published from the buffer), ``dropped`` (buffer full; an alert should fire).
``voiceassist_audit_buffered_records{source}``
    Records waiting in the buffer now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import uuid4

from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge

from voiceassist_common.events import (
    ActorKind,
    AuditOutcome,
    AuditRecordAppended,
    EventPayload,
    new_event,
)
from voiceassist_common.logging import safe
from voiceassist_common.messaging import publish as publish_event
from voiceassist_common.tokens import Principal, Role

__all__ = [
    "AUDIT_BUFFERED",
    "AUDIT_RECORDS",
    "AuditOutcome",
    "AuditTrail",
    "Publish",
    "actor_role",
    "jetstream_publisher",
]

logger = logging.getLogger(__name__)

Publish = Callable[[EventPayload], Awaitable[None]]
"""Stores one event payload on the bus; raises when it could not."""

AUDIT_RECORDS = Counter(
    "voiceassist_audit_records",
    "Audit records by what happened to them: published, buffered, retried or dropped.",
    ["source", "outcome"],
)
AUDIT_BUFFERED = Gauge(
    "voiceassist_audit_buffered_records",
    "Audit records waiting in memory for NATS to come back.",
    ["source"],
)

# Same shapes as the event's OpaqueId and Code, checked here so a bad value is replaced, not
# raised as a validation error into the caller's request.
_OPAQUE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_CODE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_INVALID = "invalid"
_ROLE_ORDER = (Role.ADMIN, Role.CLINICIAN, Role.PATIENT)


def actor_role(principal: Principal) -> Role | None:
    """Return the highest role the principal holds: the one that best says what it may do."""
    return next((role for role in _ROLE_ORDER if principal.has_role(role)), None)


def jetstream_publisher(
    js: JetStreamContext, *, source: str, timeout_seconds: float = 2.0
) -> Publish:
    """Return a `Publish` that stores payloads on JetStream as events from ``source``.

    An audit record's event id is its ``record_id``, so a retry after a lost acknowledgement is
    de-duplicated by JetStream as well as by the trail.
    """

    async def _publish(payload: EventPayload) -> None:
        event_id = payload.record_id if isinstance(payload, AuditRecordAppended) else None
        event = new_event(payload, source=source, event_id=event_id)
        await publish_event(js, event, ack_wait_seconds=timeout_seconds)

    return _publish


class AuditTrail:
    """Publishes audit records for ``source``; buffers up to ``max_buffered`` while NATS is down.

    ``publish`` may be None until the service has connected (`attach`); records made before
    then wait in the buffer. Call `close` at shutdown to try a last flush.
    """

    def __init__(
        self,
        publish: Publish | None,
        *,
        source: str,
        max_buffered: int = 10_000,
        publish_timeout_seconds: float = 2.0,
        first_retry_seconds: float = 0.5,
        max_retry_seconds: float = 30.0,
    ) -> None:
        self._publish = publish
        self.source = source
        self.max_buffered = max_buffered
        self.publish_timeout_seconds = publish_timeout_seconds
        self.first_retry_seconds = first_retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self._buffer: deque[AuditRecordAppended] = deque()
        self._retrying: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        # One flush at a time: two would publish the head record twice and pop two records.
        self._flushing = asyncio.Lock()
        self._gauge = AUDIT_BUFFERED.labels(source=source)

    @property
    def buffered(self) -> int:
        """How many records wait for NATS."""
        return len(self._buffer)

    def attach(self, publish: Publish) -> None:
        """Start publishing through ``publish`` (for example once NATS is connected)."""
        self._publish = publish
        if self._buffer:
            self._ensure_retrying()
            self._wake.set()

    async def record(
        self,
        *,
        actor: Principal | str,
        action: str,
        resource_type: str,
        resource_id: str,
        outcome: AuditOutcome,
        request_id: str | None = None,
        patient_subject: str | None = None,
        actor_kind: ActorKind | None = None,
    ) -> None:
        """Record that ``actor`` did ``action`` to a resource, with ``outcome``. Never raises.

        ``actor`` is the verified principal (its subject and highest role are recorded) or a
        string id for a caller without one: ``anonymous``, a service name (pass
        ``actor_kind=ActorKind.SERVICE``) or the account a failed sign-in aimed at.
        """
        try:
            record = self._build(
                actor=actor,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                outcome=outcome,
                request_id=request_id,
                patient_subject=patient_subject,
                actor_kind=actor_kind,
            )
        except Exception:
            # _build only fails on a programming error; the action must still go through.
            logger.exception("could not build an audit record for %s", safe(_code(action)))
            self._count("dropped")
            return
        if self._buffer or self._publish is None:
            self._enqueue(record)
            return
        try:
            await asyncio.wait_for(self._publish(record), timeout=self.publish_timeout_seconds)
        except Exception as error:  # any failure: keep the record and retry later
            logger.warning(
                "audit record not published (%s); buffering it", safe(type(error).__name__)
            )
            self._enqueue(record)
        else:
            self._count("published")

    async def flush(self) -> bool:
        """Publish every buffered record now, in order; return whether the buffer is empty."""
        async with self._flushing:
            return await self._flush_locked()

    async def _flush_locked(self) -> bool:
        while self._buffer and self._publish is not None:
            try:
                await asyncio.wait_for(
                    self._publish(self._buffer[0]), timeout=self.publish_timeout_seconds
                )
            except Exception as error:
                logger.info("audit buffer still waiting for NATS (%s)", safe(type(error).__name__))
                return False
            self._buffer.popleft()
            self._gauge.set(len(self._buffer))
            self._count("retried")
        return not self._buffer

    async def close(self) -> None:
        """Stop retrying after one last flush; records still buffered are logged as lost."""
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying
            self._retrying = None
        await self.flush()
        if self._buffer:
            logger.error("%d audit records lost at shutdown: NATS unreachable", len(self._buffer))
            AUDIT_RECORDS.labels(source=self.source, outcome="dropped").inc(len(self._buffer))
            self._buffer.clear()
            self._gauge.set(0)

    def _build(
        self,
        *,
        actor: Principal | str,
        action: str,
        resource_type: str,
        resource_id: str,
        outcome: AuditOutcome,
        request_id: str | None,
        patient_subject: str | None,
        actor_kind: ActorKind | None,
    ) -> AuditRecordAppended:
        if isinstance(actor, Principal):
            role = actor_role(actor)
            guest = actor.claims.get("voiceassist_guest") is True or actor.subject.startswith(
                "guest-"
            )
            kind = actor_kind or (ActorKind.GUEST if guest else ActorKind.USER)
            actor_id = actor.subject
            role_code = role.value if role is not None else None
        else:
            kind = actor_kind or ActorKind.ANONYMOUS
            actor_id = actor
            role_code = None
        return AuditRecordAppended(
            record_id=uuid4(),
            actor_id=_checked("actor_id", actor_id, _OPAQUE_ID),
            actor_kind=kind,
            actor_role=role_code,
            action=_checked("action", action, _CODE),
            resource_type=_checked("resource_type", resource_type, _CODE),
            resource_id=_checked("resource_id", resource_id, _OPAQUE_ID),
            outcome=AuditOutcome(outcome),
            request_id=_optional_checked("request_id", request_id, _OPAQUE_ID),
            occurred_at=datetime.now(UTC),
            patient_subject=_optional_checked("patient_subject", patient_subject, _OPAQUE_ID),
        )

    def _enqueue(self, record: AuditRecordAppended) -> None:
        if len(self._buffer) >= self.max_buffered:
            # Keep the oldest: they are the ones the trail has been missing longest, and a
            # flood of new records must not push out evidence of what came before it.
            logger.error(
                "audit buffer full (%d records); dropping a %s record",
                self.max_buffered,
                safe(record.action),
            )
            self._count("dropped")
            return
        self._buffer.append(record)
        self._gauge.set(len(self._buffer))
        self._count("buffered")
        self._ensure_retrying()

    def _ensure_retrying(self) -> None:
        if self._retrying is not None and not self._retrying.done():
            return
        try:
            self._retrying = asyncio.get_running_loop().create_task(
                self._retry(), name=f"audit-retry-{self.source}"
            )
        except RuntimeError:
            # No loop (a synchronous caller at shutdown): the next record or flush() retries.
            self._retrying = None

    async def _retry(self) -> None:
        delay = self.first_retry_seconds
        while self._buffer:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            # Cleared after waking, not before waiting: an attach() made before this task
            # first ran must not be forgotten.
            self._wake.clear()
            if await self.flush():
                logger.info("audit buffer flushed; NATS is back")
                return
            delay = min(delay * 2, self.max_retry_seconds)

    def _count(self, outcome: str) -> None:
        AUDIT_RECORDS.labels(source=self.source, outcome=outcome).inc()


def _checked(field: str, value: str, pattern: re.Pattern[str]) -> str:
    if isinstance(value, str) and pattern.fullmatch(value):
        return value
    # Only the field's name: the value is what must not reach a log.
    logger.error("audit record field %s is not an id or code; recorded as 'invalid'", field)
    return _INVALID


def _optional_checked(field: str, value: str | None, pattern: re.Pattern[str]) -> str | None:
    return None if value is None else _checked(field, value, pattern)


def _code(value: str) -> str:
    return value if isinstance(value, str) and _CODE.fullmatch(value) else _INVALID
