"""The audit trail in PostgreSQL: appends each record once, lists them, reads the chain back.

Appending takes a transaction-scoped advisory lock so two consumers (or two replicas) never give
two rows the same sequence or chain them to the same predecessor. A record whose ``record_id``
is already stored is not stored again: JetStream delivers at least once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from voiceassist_admin.domain.audit import (
    GENESIS_HASH,
    AuditEntry,
    ChainedAuditEntry,
    ChainReport,
    seal,
    verify_chain,
)

# Any constant unique to this table within the database; pg_advisory_xact_lock takes a bigint.
_APPEND_LOCK = 0x61756469745F7472  # "audit_tr"
_MAX_PAGE_SIZE = 500
_DEFAULT_PAGE_SIZE = 50

_COLUMNS = (
    "sequence, record_id, event_id, occurred_at, actor_id, actor_kind, actor_role, action, "
    "object_type, object_id, outcome, request_id, source, patient_subject, prev_hash, hash"
)


class InvalidPageTokenError(ValueError):
    """A page token this store did not issue, or issued for other filters."""


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which records a list returns; an empty or unset field does not filter."""

    actor_id: str = ""
    object_type: str = ""
    object_id: str = ""
    action: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None

    def fingerprint(self) -> str:
        """Return a short digest of the filters, so a token is refused with other filters."""
        parts = (
            self.actor_id,
            self.object_type,
            self.object_id,
            self.action,
            self.start_time.isoformat() if self.start_time else "",
            self.end_time.isoformat() if self.end_time else "",
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of records, newest first."""

    rows: tuple[ChainedAuditEntry, ...]
    next_page_token: str
    total_size: int


class PostgresAuditStore:
    """The ``audit_events`` table of the admin schema."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._pool = pool

    async def append(self, entry: AuditEntry) -> ChainedAuditEntry:
        """Store ``entry`` at the end of the chain, or return the row already holding it."""
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _APPEND_LOCK)
            existing = await connection.fetchrow(
                f"SELECT {_COLUMNS} FROM audit_events WHERE record_id = $1",  # noqa: S608
                entry.record_id,
            )
            if existing is not None:
                return _row(existing)
            last = await connection.fetchrow(
                "SELECT sequence, hash FROM audit_events ORDER BY sequence DESC LIMIT 1"
            )
            sequence = 1 if last is None else int(last["sequence"]) + 1
            prev_hash = GENESIS_HASH if last is None else str(last["hash"])
            sealed = seal(entry, sequence=sequence, prev_hash=prev_hash)
            await connection.execute(
                f"INSERT INTO audit_events ({_COLUMNS}) "  # noqa: S608 - fixed column list
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                sealed.sequence,
                entry.record_id,
                entry.event_id,
                entry.occurred_at,
                entry.actor_id,
                entry.actor_kind,
                entry.actor_role,
                entry.action,
                entry.object_type,
                entry.object_id,
                entry.outcome,
                entry.request_id,
                entry.source,
                entry.patient_subject,
                sealed.prev_hash,
                sealed.hash,
            )
            return sealed

    async def list(
        self, filters: AuditFilter, *, page_size: int = 0, page_token: str = ""
    ) -> AuditPage:
        """Return one page of matching records, newest first."""
        size = _DEFAULT_PAGE_SIZE if page_size <= 0 else min(page_size, _MAX_PAGE_SIZE)
        conditions: list[str] = []
        arguments: list[object] = []

        def where(clause: str, value: object) -> None:
            arguments.append(value)
            conditions.append(clause.format(f"${len(arguments)}"))

        if filters.actor_id:
            where("actor_id = {}", filters.actor_id)
        if filters.object_type:
            where("object_type = {}", filters.object_type)
        if filters.object_id:
            where("object_id = {}", filters.object_id)
        if filters.action:
            where("action = {}", filters.action)
        if filters.start_time is not None:
            where("occurred_at >= {}", filters.start_time)
        if filters.end_time is not None:
            where("occurred_at < {}", filters.end_time)
        matching = " AND ".join(conditions) or "TRUE"
        count_arguments = list(arguments)
        if page_token:
            where("sequence < {}", _decode_token(page_token, filters))
        selected = " AND ".join(conditions) or "TRUE"
        async with self._pool.acquire() as connection:
            total = await connection.fetchval(
                f"SELECT count(*) FROM audit_events WHERE {matching}",  # noqa: S608
                *count_arguments,
            )
            records = await connection.fetch(
                f"SELECT {_COLUMNS} FROM audit_events WHERE {selected} "  # noqa: S608
                f"ORDER BY sequence DESC LIMIT {size + 1}",
                *arguments,
            )
        rows = tuple(_row(record) for record in records[:size])
        next_token = _encode_token(rows[-1].sequence, filters) if len(records) > size else ""
        return AuditPage(rows=rows, next_page_token=next_token, total_size=int(total))

    async def chain(self, *, batch_size: int = 1000) -> AsyncIterator[ChainedAuditEntry]:
        """Yield every stored row in sequence order, reading in batches."""
        after = 0
        while True:
            async with self._pool.acquire() as connection:
                records = await connection.fetch(
                    f"SELECT {_COLUMNS} FROM audit_events WHERE sequence > $1 "  # noqa: S608
                    "ORDER BY sequence LIMIT $2",
                    after,
                    batch_size,
                )
            for record in records:
                yield _row(record)
            if len(records) < batch_size:
                return
            after = int(records[-1]["sequence"])

    async def verify(self) -> ChainReport:
        """Recompute the chain over every stored row."""
        rows = [row async for row in self.chain()]
        return verify_chain(rows)


def _row(record: asyncpg.Record) -> ChainedAuditEntry:
    entry = AuditEntry(
        record_id=record["record_id"],
        event_id=record["event_id"],
        occurred_at=record["occurred_at"],
        actor_id=record["actor_id"],
        actor_kind=record["actor_kind"],
        actor_role=record["actor_role"],
        action=record["action"],
        object_type=record["object_type"],
        object_id=record["object_id"],
        outcome=record["outcome"],
        request_id=record["request_id"],
        source=record["source"],
        patient_subject=record["patient_subject"],
    )
    return ChainedAuditEntry(
        sequence=int(record["sequence"]),
        entry=entry,
        prev_hash=record["prev_hash"],
        hash=record["hash"],
    )


def _encode_token(sequence: int, filters: AuditFilter) -> str:
    raw = f"{sequence}:{filters.fingerprint()}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, filters: AuditFilter) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        sequence_text, fingerprint = raw.split(":", 1)
        sequence = int(sequence_text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidPageTokenError("page token is not valid") from error
    if fingerprint != filters.fingerprint() or sequence < 1:
        raise InvalidPageTokenError("page token was issued for other filters")
    return sequence
