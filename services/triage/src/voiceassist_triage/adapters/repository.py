"""Where Triage records its outcomes: assessments in PostgreSQL, or in memory for tests.

Triage is stateless, but its outcome is not: a booking attaches the assessment id, the
clinician reads what the patient reported and what they were told, and analytics counts levels.
An `Assessment` keeps exactly that, as structured data: age and sex, each answer as a
knowledge-base evidence id with its value (a yes/no, a value id, a number or "unknown"), the
level, the red flags and instruction as they were given, the condition ids with their
probabilities, the specialty and the knowledge version. Nothing the patient said in their own
words is stored; question and answer texts for the clinician are rebuilt from the knowledge base
when the assessment is read.

Both implementations honour one contract (tests/adapters/test_repository.py runs the same tests
against each): newest first, filters on patient, time window and levels, and keyset paging
whose opaque token is bound to the filters it was issued for.

A guest who signs up or in keeps their assessments: `reassign_patient` moves every assessment
recorded under the guest's subject to the account's (on ``auth.guest.upgraded``; run again, it
finds nothing left to move).

Reads filter by what they are given and decide nothing: which assessments a caller may read
(their own, their practice's patients, an admin's all) is decided by the gRPC handler, which
narrows a listing with `AssessmentFilter.patient_subjects`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from voiceassist_triage.domain.case import Answer, AnswerValue, Language, Sex, Urgency
from voiceassist_triage.domain.results import FiredFlag

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Assessment",
    "AssessmentFilter",
    "AssessmentPage",
    "AssessmentRepository",
    "ConditionScore",
    "InMemoryAssessmentRepository",
    "InvalidPageTokenError",
    "PostgresAssessmentRepository",
    "RecordedFlag",
    "StoreUnavailableError",
]

DEFAULT_PAGE_SIZE = 50
"""Page size when the caller asks for 0 (voiceassist.common.v1.Pagination)."""
MAX_PAGE_SIZE = 500
"""Largest page returned, whatever the caller asks for."""


RecordedFlag = FiredFlag
"""A red flag that fired, recorded as the patient was told about it (texts in their language)."""


@dataclass(frozen=True)
class ConditionScore:
    """A ranked condition by id; names are read from the knowledge base when shown."""

    condition_id: str
    probability: float


@dataclass(frozen=True)
class Assessment:
    """One recorded triage outcome and the evidence it was computed from."""

    id: UUID
    create_time: datetime
    patient_subject: str
    conversation_id: str
    language: Language
    age_years: int | None
    age_months: int | None
    sex: Sex | None
    answers: tuple[Answer, ...]
    level: Urgency
    red_flags: tuple[RecordedFlag, ...]
    instruction: str
    conditions: tuple[ConditionScore, ...]
    specialty: str | None
    escalated_for_missing_evidence: bool
    missing_evidence_ids: tuple[str, ...]
    knowledge_version: str
    questions_asked: int


@dataclass(frozen=True)
class AssessmentFilter:
    """Which assessments a list returns; an empty or unset field does not filter."""

    patient_subject: str = ""
    start_time: datetime | None = None
    """First instant inside the window."""
    end_time: datetime | None = None
    """First instant after the window."""
    levels: frozenset[Urgency] = field(default_factory=frozenset)
    patient_subjects: frozenset[str] | None = None
    """Only these patients' assessments (empty: none at all); None does not filter.

    The caller's reach (a clinician's practice patients), not a filter the client chose: it is
    left out of the fingerprint, so a patient booking at the practice while a clinician pages
    does not invalidate the clinician's page token. The token only marks a position; every page
    is filtered by the reach as it is when that page is read.
    """

    def fingerprint(self) -> str:
        """Return a short digest of the filters, so a token is refused with other filters."""
        parts = (
            self.patient_subject,
            self.start_time.isoformat() if self.start_time else "",
            self.end_time.isoformat() if self.end_time else "",
            ",".join(str(int(level)) for level in sorted(self.levels)),
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AssessmentPage:
    """One page of a list, newest first."""

    assessments: tuple[Assessment, ...]
    next_page_token: str
    """Empty on the last page."""
    total_size: int
    """How many assessments match the filters, on every page."""


class InvalidPageTokenError(ValueError):
    """A page token that this repository did not issue, or issued for other filters."""


class StoreUnavailableError(ConnectionError):
    """The store cannot be reached right now; the call may be retried."""


class AssessmentRepository(Protocol):
    """Stores assessments and reads them back."""

    async def add(self, assessment: Assessment) -> None:
        """Record ``assessment`` (its id is new)."""
        ...

    async def get(self, assessment_id: UUID) -> Assessment | None:
        """Return the assessment with ``assessment_id``, or None."""
        ...

    async def list(
        self, where: AssessmentFilter, *, page_size: int, page_token: str = ""
    ) -> AssessmentPage:
        """One page of the assessments matching ``where``, newest first.

        ``page_size`` is at least 1; raises InvalidPageTokenError for a token not issued for
        these filters.
        """
        ...

    async def reassign_patient(self, from_subject: str, to_subject: str) -> int:
        """Record every assessment of ``from_subject`` as ``to_subject``'s; return how many moved.

        Idempotent: once moved, nothing is left under ``from_subject``.
        """
        ...


@dataclass(frozen=True)
class _Cursor:
    """Where a page ends: the sort key of its last assessment."""

    create_time: datetime
    assessment_id: UUID


def _encode_token(last: Assessment, where: AssessmentFilter) -> str:
    document = {
        "t": last.create_time.astimezone(UTC).isoformat(),
        "i": str(last.id),
        "f": where.fingerprint(),
    }
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def _decode_token(token: str, where: AssessmentFilter) -> _Cursor | None:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        document = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cursor = _Cursor(datetime.fromisoformat(document["t"]), UUID(document["i"]))
        fingerprint = document["f"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise InvalidPageTokenError("the page token was not issued by this service") from None
    if fingerprint != where.fingerprint() or cursor.create_time.tzinfo is None:
        raise InvalidPageTokenError("the page token was issued for other filters") from None
    return cursor


def _matches(assessment: Assessment, where: AssessmentFilter) -> bool:
    if where.patient_subject and assessment.patient_subject != where.patient_subject:
        return False
    if where.patient_subjects is not None and assessment.patient_subject not in (
        where.patient_subjects
    ):
        return False
    if where.start_time is not None and assessment.create_time < where.start_time:
        return False
    if where.end_time is not None and assessment.create_time >= where.end_time:
        return False
    return not where.levels or assessment.level in where.levels


def _page(
    newest_first: Sequence[Assessment], where: AssessmentFilter, page_size: int, total: int
) -> AssessmentPage:
    """Cut a page from up to ``page_size + 1`` assessments (one more says another page exists)."""
    shown = tuple(newest_first[:page_size])
    more = len(newest_first) > page_size
    token = _encode_token(shown[-1], where) if more and shown else ""
    return AssessmentPage(assessments=shown, next_page_token=token, total_size=total)


class InMemoryAssessmentRepository:
    """Assessments in a dict: for tests, and for running the service without a database."""

    def __init__(self) -> None:
        self._assessments: dict[UUID, Assessment] = {}

    async def add(self, assessment: Assessment) -> None:
        """Record ``assessment``."""
        if assessment.id in self._assessments:
            raise ValueError(f"assessment {assessment.id} exists already")
        self._assessments[assessment.id] = assessment

    async def get(self, assessment_id: UUID) -> Assessment | None:
        """Return the assessment with ``assessment_id``, or None."""
        return self._assessments.get(assessment_id)

    async def list(
        self, where: AssessmentFilter, *, page_size: int, page_token: str = ""
    ) -> AssessmentPage:
        """One page of the assessments matching ``where``, newest first."""
        cursor = _decode_token(page_token, where)
        matching = sorted(
            (a for a in self._assessments.values() if _matches(a, where)),
            key=lambda a: (a.create_time, a.id),
            reverse=True,
        )
        after = [
            a
            for a in matching
            if cursor is None or (a.create_time, a.id) < (cursor.create_time, cursor.assessment_id)
        ]
        return _page(after[: page_size + 1], where, page_size, len(matching))

    async def reassign_patient(self, from_subject: str, to_subject: str) -> int:
        """Move every assessment of ``from_subject`` to ``to_subject``; return how many moved."""
        moved = [a for a in self._assessments.values() if a.patient_subject == from_subject]
        for item in moved:
            self._assessments[item.id] = dataclasses.replace(item, patient_subject=to_subject)
        return len(moved)


_COLUMNS = """
    assessment_id, create_time, patient_subject, conversation_id, language, age_years,
    age_months, sex, evidence, level, red_flags, instruction, conditions, specialty,
    escalated_for_missing_evidence, missing_evidence_ids, knowledge_version, questions_asked
"""

_INSERT = f"""
INSERT INTO assessments ({_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11::jsonb, $12, $13::jsonb, $14, $15,
        $16, $17, $18)
"""  # noqa: S608 - only the fixed column list is formatted in; values are parameters

_SELECT_ONE = f"SELECT {_COLUMNS} FROM assessments WHERE assessment_id = $1"  # noqa: S608 - fixed columns

# One static statement for every combination of filters: an unset filter is a NULL or empty
# parameter that makes its condition true ($5 NULL: any patient; an empty array: none).
# $6/$7 are the cursor of keyset paging.
_FILTERS = """
    ($1 = '' OR patient_subject = $1)
    AND ($2::timestamptz IS NULL OR create_time >= $2)
    AND ($3::timestamptz IS NULL OR create_time < $3)
    AND (cardinality($4::smallint[]) = 0 OR level = ANY($4::smallint[]))
    AND ($5::text[] IS NULL OR patient_subject = ANY($5::text[]))
"""
_SELECT_PAGE = f"""
SELECT {_COLUMNS} FROM assessments
WHERE {_FILTERS}
    AND ($6::timestamptz IS NULL OR (create_time, assessment_id) < ($6, $7::uuid))
ORDER BY create_time DESC, assessment_id DESC
LIMIT $8
"""  # noqa: S608 - only fixed text is formatted in; values are parameters
_COUNT = f"SELECT count(*) FROM assessments WHERE {_FILTERS}"  # noqa: S608 - fixed text
# Uses the assessments_of_patient index; one statement, so a reader sees all moved or none.
_REASSIGN = "UPDATE assessments SET patient_subject = $2 WHERE patient_subject = $1"


def _answers_json(answers: Sequence[Answer]) -> str:
    return json.dumps([{"id": a.evidence_id, "value": a.value} for a in answers])


def _answer_value(raw: Any) -> AnswerValue:
    # JSON keeps the four kinds apart: true/false, "V_123", 7.5, null.
    if raw is None or isinstance(raw, bool | str):
        return raw
    return float(raw)


def _flags_json(flags: Sequence[RecordedFlag]) -> str:
    return json.dumps(
        [
            {
                "id": flag.id,
                "name": flag.name,
                "reason": flag.reason,
                "level": int(flag.level),
                "evidence_ids": list(flag.evidence_ids),
                "source": flag.source,
            }
            for flag in flags
        ]
    )


def _from_row(row: asyncpg.Record) -> Assessment:
    return Assessment(
        id=row["assessment_id"],
        create_time=row["create_time"],
        patient_subject=row["patient_subject"],
        conversation_id=row["conversation_id"],
        language=Language(row["language"]),
        age_years=row["age_years"],
        age_months=row["age_months"],
        sex=Sex(row["sex"]) if row["sex"] else None,
        answers=tuple(
            Answer(item["id"], _answer_value(item["value"])) for item in json.loads(row["evidence"])
        ),
        level=Urgency(row["level"]),
        red_flags=tuple(
            RecordedFlag(
                id=item["id"],
                name=item["name"],
                reason=item["reason"],
                level=Urgency(item["level"]),
                evidence_ids=tuple(item["evidence_ids"]),
                source=item["source"],
            )
            for item in json.loads(row["red_flags"])
        ),
        instruction=row["instruction"],
        conditions=tuple(
            ConditionScore(item["id"], float(item["probability"]))
            for item in json.loads(row["conditions"])
        ),
        specialty=row["specialty"],
        escalated_for_missing_evidence=row["escalated_for_missing_evidence"],
        missing_evidence_ids=tuple(row["missing_evidence_ids"]),
        knowledge_version=row["knowledge_version"],
        questions_asked=row["questions_asked"],
    )


# What losing the database looks like: refused or dropped connections, a pool that cannot hand
# out a connection in time, a server shutting down.
_UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InterfaceError,
)


class PostgresAssessmentRepository:
    """Assessments in the ``triage.assessments`` table (migration 0002).

    The pool's connections have ``search_path`` set to the triage schema
    (`voiceassist_common.db.create_pool`), so statements name the table without a schema.
    """

    def __init__(
        self, pool: asyncpg.Pool[asyncpg.Record], *, acquire_timeout_seconds: float = 5.0
    ) -> None:
        self._pool = pool
        self._timeout = acquire_timeout_seconds

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.pool.PoolConnectionProxy[asyncpg.Record]]:
        """Lend a pooled connection; losing the database becomes StoreUnavailableError."""
        try:
            async with self._pool.acquire(timeout=self._timeout) as connection:
                yield connection
        except _UNREACHABLE as error:
            raise StoreUnavailableError(
                f"PostgreSQL is unavailable ({type(error).__name__})"
            ) from error

    async def add(self, assessment: Assessment) -> None:
        """Record ``assessment``."""
        async with self._connection() as connection:
            await connection.execute(
                _INSERT,
                assessment.id,
                assessment.create_time,
                assessment.patient_subject,
                assessment.conversation_id,
                assessment.language.value,
                assessment.age_years,
                assessment.age_months,
                assessment.sex.value if assessment.sex else None,
                _answers_json(assessment.answers),
                int(assessment.level),
                _flags_json(assessment.red_flags),
                assessment.instruction,
                json.dumps(
                    [
                        {"id": c.condition_id, "probability": c.probability}
                        for c in assessment.conditions
                    ]
                ),
                assessment.specialty,
                assessment.escalated_for_missing_evidence,
                list(assessment.missing_evidence_ids),
                assessment.knowledge_version,
                assessment.questions_asked,
            )

    async def get(self, assessment_id: UUID) -> Assessment | None:
        """Return the assessment with ``assessment_id``, or None."""
        async with self._connection() as connection:
            row = await connection.fetchrow(_SELECT_ONE, assessment_id)
        return _from_row(row) if row is not None else None

    async def list(
        self, where: AssessmentFilter, *, page_size: int, page_token: str = ""
    ) -> AssessmentPage:
        """One page of the assessments matching ``where``, newest first."""
        cursor = _decode_token(page_token, where)
        filters = (
            where.patient_subject,
            where.start_time,
            where.end_time,
            sorted(int(level) for level in where.levels),
            None if where.patient_subjects is None else sorted(where.patient_subjects),
        )
        async with self._connection() as connection:
            rows = await connection.fetch(
                _SELECT_PAGE,
                *filters,
                cursor.create_time if cursor else None,
                cursor.assessment_id if cursor else None,
                page_size + 1,
            )
            total = await connection.fetchval(_COUNT, *filters)
        return _page([_from_row(row) for row in rows], where, page_size, int(total))

    async def reassign_patient(self, from_subject: str, to_subject: str) -> int:
        """Move every assessment of ``from_subject`` to ``to_subject``; return how many moved."""
        async with self._connection() as connection:
            status = await connection.execute(_REASSIGN, from_subject, to_subject)
        # asyncpg returns the command tag, "UPDATE <rows>".
        return int(status.rsplit(" ", 1)[-1])
