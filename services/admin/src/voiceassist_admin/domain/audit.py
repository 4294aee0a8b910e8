"""The audit trail as a hash chain: what a row is, how it is hashed, how the chain is checked.

An append-only table can still be edited by whoever owns the database. Each row therefore
carries the SHA-256 of its own content together with the previous row's hash, so changing,
removing or reordering any stored row breaks every hash from there on, and `verify_chain`
names the first row that no longer matches. The serialisation is canonical (sorted JSON keys,
UTC timestamps in microseconds, empty string for absent values) so the same row hashes the same
in every process and every year.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from uuid import UUID

GENESIS_HASH = ""
"""The previous hash of the first row: there is none."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit record as received: who did what to which object, and how it went."""

    record_id: UUID
    event_id: UUID
    occurred_at: datetime
    actor_id: str
    actor_kind: str
    actor_role: str | None
    action: str
    object_type: str
    object_id: str
    outcome: str
    request_id: str | None
    source: str
    patient_subject: str | None


@dataclass(frozen=True, slots=True)
class ChainedAuditEntry:
    """An entry as stored: its place in the chain and the hashes that seal it."""

    sequence: int
    entry: AuditEntry
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of checking the chain: intact, or the first row that fails and why."""

    intact: bool
    checked: int
    first_broken_sequence: int | None = None
    problem: str = ""
    first_broken_record_id: UUID | None = None
    """The row where the break was found (for a gap, the row standing in the missing one's
    place), so an investigator can find it by id even after sequences were rewritten."""


def canonical(entry: AuditEntry, *, sequence: int, prev_hash: str) -> bytes:
    """Return the bytes a row's hash is computed over."""
    content: dict[str, str | int] = {"sequence": sequence, "prev_hash": prev_hash}
    for spec in fields(AuditEntry):
        value = getattr(entry, spec.name)
        if value is None:
            content[spec.name] = ""
        elif isinstance(value, datetime):
            content[spec.name] = value.astimezone(UTC).isoformat(timespec="microseconds")
        else:
            content[spec.name] = str(value)
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def chain_hash(entry: AuditEntry, *, sequence: int, prev_hash: str) -> str:
    """Return the hex SHA-256 sealing ``entry`` at ``sequence`` after ``prev_hash``."""
    return hashlib.sha256(canonical(entry, sequence=sequence, prev_hash=prev_hash)).hexdigest()


def seal(entry: AuditEntry, *, sequence: int, prev_hash: str) -> ChainedAuditEntry:
    """Return ``entry`` placed at ``sequence`` after the row whose hash is ``prev_hash``."""
    return ChainedAuditEntry(
        sequence=sequence,
        entry=entry,
        prev_hash=prev_hash,
        hash=chain_hash(entry, sequence=sequence, prev_hash=prev_hash),
    )


def verify_chain(rows: Iterable[ChainedAuditEntry]) -> ChainReport:
    """Check ``rows`` (in sequence order) and report the first one that breaks the chain."""
    expected_sequence = 1
    previous = GENESIS_HASH
    checked = 0
    for row in rows:
        checked += 1
        if row.sequence != expected_sequence:
            return ChainReport(
                False, checked, expected_sequence, "missing sequence", row.entry.record_id
            )
        if row.prev_hash != previous:
            return ChainReport(
                False, checked, row.sequence, "previous_hash mismatch", row.entry.record_id
            )
        if row.hash != chain_hash(row.entry, sequence=row.sequence, prev_hash=row.prev_hash):
            return ChainReport(False, checked, row.sequence, "hash mismatch", row.entry.record_id)
        previous = row.hash
        expected_sequence += 1
    return ChainReport(True, checked)
