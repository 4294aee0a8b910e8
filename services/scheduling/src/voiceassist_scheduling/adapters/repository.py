"""Where scheduling keeps the clinic and its bookings: PostgreSQL through asyncpg.

The database, not Python, guarantees that two booked appointments of one practitioner never
overlap: `book` simply INSERTs, and the exclusion constraint ``appointments_never_overlap``
refuses the loser of any race, which surfaces as `SlotTakenError`. Idempotent booking stores the
client's key with a hash of the request in the same transaction as the appointment, so a retry
after a lost response finds the first appointment instead of creating a second one; the same key
with a different request is refused (`IdempotencyKeyReusedError`). Cancel and reschedule work
the same way.

Every change other services hear about writes its event into the ``outbox`` table in the same
transaction (a transactional outbox): the relay (adapters/outbox.py) publishes it afterwards, so
an event is lost neither when NATS is down at commit time nor announced for a change that
rolled back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
from asyncpg import Range
from voiceassist_common.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    CancellationReason,
    EventPayload,
    new_event,
)
from voiceassist_common.events import UrgencyLevel as EventUrgency

from voiceassist_scheduling.domain.model import (
    Appointment,
    AppointmentStatus,
    AvailabilityException,
    AvailabilityRule,
    ExceptionKind,
    Practice,
    Practitioner,
    Specialty,
    UrgencyLevel,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "AppointmentFilter",
    "AppointmentNotFoundError",
    "AppointmentStateError",
    "BookingRequest",
    "IdempotencyKeyReusedError",
    "OutboxRow",
    "PostgresSchedulingRepository",
    "SlotTakenError",
]

MAX_PAGE_SIZE = 500
EVENT_SOURCE = "scheduling"


class SlotTakenError(Exception):
    """The period overlaps a booked appointment of the same practitioner."""


class IdempotencyKeyReusedError(Exception):
    """The idempotency key was already used for a different request."""


class AppointmentNotFoundError(Exception):
    """No appointment has that id."""


class AppointmentStateError(Exception):
    """The appointment's status does not allow the change (e.g. cancelling a fulfilled one)."""


@dataclass(frozen=True)
class AppointmentFilter:
    """Which appointments a listing returns; None means "any" for the id sets."""

    patient_subject: str | None = None
    practitioner_ids: frozenset[UUID] | None = None
    practice_ids: frozenset[UUID] | None = None
    statuses: frozenset[AppointmentStatus] = frozenset()
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class OutboxRow:
    """An event waiting to be published: its id is the JetStream message id."""

    event_id: UUID
    subject: str
    payload: bytes


@dataclass(frozen=True)
class BookingRequest:
    """What a booking asks for; its hash binds an idempotency key to it."""

    patient_subject: str
    practitioner_id: UUID
    start: datetime
    end: datetime
    created_by: str
    reason: str = ""
    urgency: UrgencyLevel | None = None
    triage_assessment_id: UUID | None = None
    contact_email: str = ""
    """Where the reminder goes (PHI); not part of the fingerprint: a retry may carry a fresher
    token."""
    contact_language: str = "en"

    def fingerprint(self) -> str:
        """Digest of every field, so a key reused for another request is recognised."""
        fields = [
            self.patient_subject,
            str(self.practitioner_id),
            self.start.astimezone(UTC).isoformat(),
            self.end.astimezone(UTC).isoformat(),
            self.created_by,
            self.reason,
            "" if self.urgency is None else str(int(self.urgency)),
            str(self.triage_assessment_id or ""),
        ]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


_APPOINTMENT_COLUMNS = (
    "appointment_id, patient_subject, practitioner_id, period, status, reason, urgency, "
    "triage_assessment_id, created_by, create_time, update_time, cancellation_reason"
)


def _appointment(row: asyncpg.Record) -> Appointment:
    period = row["period"]
    return Appointment(
        id=row["appointment_id"],
        patient_subject=row["patient_subject"],
        practitioner_id=row["practitioner_id"],
        start=period.lower.astimezone(UTC),
        end=period.upper.astimezone(UTC),
        status=AppointmentStatus(row["status"]),
        created_by=row["created_by"],
        create_time=row["create_time"].astimezone(UTC),
        update_time=row["update_time"].astimezone(UTC),
        reason=row["reason"],
        urgency=None if row["urgency"] is None else UrgencyLevel(row["urgency"]),
        triage_assessment_id=row["triage_assessment_id"],
        cancellation_reason=row["cancellation_reason"],
    )


def _practice(row: asyncpg.Record) -> Practice:
    return Practice(
        id=row["practice_id"],
        name=row["name"],
        city=row["city"],
        timezone=row["timezone"],
        address=row["address"],
        latitude=row["latitude"],
        longitude=row["longitude"],
    )


def _practitioner(row: asyncpg.Record) -> Practitioner:
    return Practitioner(
        id=row["practitioner_id"],
        display_name=row["display_name"],
        specialties=tuple(Specialty(s) for s in row["specialties"]),
        languages=tuple(row["languages"]),
        practice_id=row["practice_id"],
        active=row["active"],
        user_id=row["user_id"],
        email=row["email"],
    )


class PostgresSchedulingRepository:
    """The scheduling tables in the service's schema, through a pool confined to it."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        """Use ``pool``, whose connections see the scheduling schema first."""
        self._pool = pool

    # Practices and practitioners -------------------------------------------------------------

    async def add_practice(self, practice: Practice) -> Practice:
        """Store a practice, or update the one with the same name (seeding runs again)."""
        row = await self._pool.fetchrow(
            """
            INSERT INTO practices (practice_id, name, address, city, timezone, latitude, longitude)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (name) DO UPDATE SET address = EXCLUDED.address, city = EXCLUDED.city,
                timezone = EXCLUDED.timezone, latitude = EXCLUDED.latitude,
                longitude = EXCLUDED.longitude
            RETURNING *
            """,
            practice.id,
            practice.name,
            practice.address,
            practice.city,
            practice.timezone,
            practice.latitude,
            practice.longitude,
        )
        assert row is not None  # noqa: S101 - RETURNING always yields the row
        return _practice(row)

    async def list_practices(self) -> list[Practice]:
        """Every practice, by name."""
        rows = await self._pool.fetch("SELECT * FROM practices ORDER BY name")
        return [_practice(row) for row in rows]

    async def add_practitioner(self, practitioner: Practitioner) -> Practitioner:
        """Store a practitioner, or update the one with the same id."""
        row = await self._pool.fetchrow(
            """
            INSERT INTO practitioners
                (practitioner_id, display_name, specialties, languages, practice_id, active,
                 user_id, email)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (practitioner_id) DO UPDATE SET display_name = EXCLUDED.display_name,
                specialties = EXCLUDED.specialties, languages = EXCLUDED.languages,
                practice_id = EXCLUDED.practice_id, active = EXCLUDED.active,
                -- A link made at sign-in survives seeding again.
                user_id = CASE WHEN EXCLUDED.user_id = '' THEN practitioners.user_id
                               ELSE EXCLUDED.user_id END,
                email = EXCLUDED.email
            RETURNING *
            """,
            practitioner.id,
            practitioner.display_name,
            [str(s) for s in practitioner.specialties],
            list(practitioner.languages),
            practitioner.practice_id,
            practitioner.active,
            practitioner.user_id,
            practitioner.email,
        )
        assert row is not None  # noqa: S101 - RETURNING always yields the row
        return _practitioner(row)

    async def list_practitioners(
        self,
        *,
        specialty: Specialty | None = None,
        language: str = "",
        include_inactive: bool = False,
    ) -> list[Practitioner]:
        """Practitioners by name, filtered on specialty, language and activity."""
        rows = await self._pool.fetch(
            """
            SELECT * FROM practitioners
            WHERE ($1::text IS NULL OR $1 = ANY (specialties))
              AND ($2 = '' OR $2 = ANY (languages))
              AND (active OR $3)
            ORDER BY display_name, practitioner_id
            """,
            None if specialty is None else str(specialty),
            language,
            include_inactive,
        )
        return [_practitioner(row) for row in rows]

    async def get_practitioner(self, practitioner_id: UUID) -> Practitioner | None:
        """One practitioner, or None."""
        row = await self._pool.fetchrow(
            "SELECT * FROM practitioners WHERE practitioner_id = $1", practitioner_id
        )
        return None if row is None else _practitioner(row)

    # Availability ------------------------------------------------------------------------------

    async def ensure_appointment_type(self, code: str, display_name: str, minutes: int) -> None:
        """Store an appointment type, or update its name and length."""
        await self._pool.execute(
            """
            INSERT INTO appointment_types (code, display_name, minutes) VALUES ($1, $2, $3)
            ON CONFLICT (code) DO UPDATE SET display_name = EXCLUDED.display_name,
                minutes = EXCLUDED.minutes
            """,
            code,
            display_name,
            minutes,
        )

    async def appointment_types(self) -> dict[str, int]:
        """Every appointment type's code and minutes."""
        rows = await self._pool.fetch("SELECT code, minutes FROM appointment_types ORDER BY code")
        return {row["code"]: row["minutes"] for row in rows}

    async def set_weekly_availability(
        self, practitioner_id: UUID, rules: Sequence[AvailabilityRule]
    ) -> None:
        """Replace the practitioner's weekly rules at once; existing appointments stay."""
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "DELETE FROM weekly_availability WHERE practitioner_id = $1", practitioner_id
            )
            await connection.executemany(
                """
                INSERT INTO weekly_availability
                    (practitioner_id, weekday, start_time, end_time, appointment_type)
                VALUES ($1, $2, $3, $4, $5)
                """,
                [
                    (practitioner_id, r.weekday, r.start_time, r.end_time, r.appointment_type)
                    for r in rules
                ],
            )

    async def weekly_availability(self, practitioner_id: UUID) -> list[AvailabilityRule]:
        """Return the practitioner's weekly rules by weekday and time, with their slot length."""
        return (await self.availability_of([practitioner_id]))[practitioner_id]

    async def add_exception(self, exception: AvailabilityException) -> None:
        """Block a period of the practitioner's availability."""
        await self._pool.execute(
            """
            INSERT INTO availability_exceptions
                (exception_id, practitioner_id, period, kind, note)
            VALUES ($1, $2, $3, $4, $5)
            """,
            exception.id,
            exception.practitioner_id,
            Range(exception.start, exception.end),
            str(exception.kind),
            exception.note,
        )

    async def busy_periods(
        self, practitioner_id: UUID, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """Exceptions and booked appointments overlapping [start, end), soonest first."""
        return (await self.busy_of([practitioner_id], start, end))[practitioner_id]

    # Appointments ------------------------------------------------------------------------------

    async def book(
        self, request: BookingRequest, *, idempotency_key: str, now: datetime
    ) -> tuple[Appointment, bool]:
        """Book, or return the appointment an earlier request with this key booked.

        Returns (appointment, replayed). Raises SlotTakenError when the period overlaps a
        booked appointment of the practitioner, IdempotencyKeyReusedError when the key was
        used for a different request.
        """
        fingerprint = request.fingerprint()
        async with self._pool.acquire() as connection:
            try:
                async with connection.transaction():
                    # Serialises concurrent retries of one key: the second waits, then replays.
                    await connection.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", idempotency_key
                    )
                    replay = await self._replay(connection, idempotency_key, "book", fingerprint)
                    if replay is not None:
                        return replay, True
                    row = await connection.fetchrow(
                        f"""
                        INSERT INTO appointments ({_APPOINTMENT_COLUMNS},
                            contact_email, contact_language)
                        VALUES ($1, $2, $3, $4, 'booked', $5, $6, $7, $8, $9, $9, '', $10, $11)
                        RETURNING {_APPOINTMENT_COLUMNS}
                        """,  # noqa: S608 - the column list is a constant
                        uuid4(),
                        request.patient_subject,
                        request.practitioner_id,
                        Range(request.start, request.end),
                        request.reason,
                        None if request.urgency is None else int(request.urgency),
                        request.triage_assessment_id,
                        request.created_by,
                        now,
                        request.contact_email,
                        request.contact_language,
                    )
                    assert row is not None  # noqa: S101 - RETURNING always yields the row
                    appointment = _appointment(row)
                    await connection.execute(
                        """
                        INSERT INTO idempotency_keys
                            (key, operation, request_hash, appointment_id, create_time)
                        VALUES ($1, 'book', $2, $3, $4)
                        """,
                        idempotency_key,
                        fingerprint,
                        appointment.id,
                        now,
                    )
                    practice_id = await connection.fetchval(
                        "SELECT practice_id FROM practitioners WHERE practitioner_id = $1",
                        appointment.practitioner_id,
                    )
                    await _enqueue(
                        connection,
                        AppointmentBooked(
                            appointment_id=appointment.id,
                            practitioner_id=appointment.practitioner_id,
                            practice_id=practice_id,
                            start_time=appointment.start,
                            end_time=appointment.end,
                            patient_subject=appointment.patient_subject,
                            urgency=_event_urgency(appointment.urgency),
                            triage_assessment_id=appointment.triage_assessment_id,
                        ),
                        now,
                    )
                    return appointment, False
            except asyncpg.ExclusionViolationError as error:
                raise SlotTakenError("the slot is no longer free") from error

    async def has_idempotency_key(self, key: str) -> bool:
        """Whether a request with this key was already carried out (a retry is coming)."""
        found = await self._pool.fetchval("SELECT 1 FROM idempotency_keys WHERE key = $1", key)
        return found is not None

    async def _replay(
        self,
        connection: asyncpg.pool.PoolConnectionProxy[asyncpg.Record],
        key: str,
        operation: str,
        fingerprint: str,
    ) -> Appointment | None:
        row = await connection.fetchrow(
            "SELECT operation, request_hash, appointment_id FROM idempotency_keys WHERE key = $1",
            key,
        )
        if row is None:
            return None
        if row["operation"] != operation or row["request_hash"] != fingerprint:
            raise IdempotencyKeyReusedError("this idempotency key was used for another request")
        appointment = await connection.fetchrow(
            f"SELECT {_APPOINTMENT_COLUMNS} FROM appointments WHERE appointment_id = $1",  # noqa: S608 - constant columns
            row["appointment_id"],
        )
        assert appointment is not None  # noqa: S101 - a foreign key keeps it
        return _appointment(appointment)

    async def get_appointment(self, appointment_id: UUID) -> Appointment | None:
        """One appointment, or None."""
        row = await self._pool.fetchrow(
            f"SELECT {_APPOINTMENT_COLUMNS} FROM appointments WHERE appointment_id = $1",  # noqa: S608 - constant columns
            appointment_id,
        )
        return None if row is None else _appointment(row)

    async def booked_in_window(
        self, start: datetime, end: datetime, practitioner_id: UUID | None = None
    ) -> list[Appointment]:
        """Booked appointments overlapping [start, end), by start time."""
        rows = await self._pool.fetch(
            f"""
            SELECT {_APPOINTMENT_COLUMNS} FROM appointments
            WHERE status = 'booked' AND period && $1
              AND ($2::uuid IS NULL OR practitioner_id = $2)
            ORDER BY lower(period), appointment_id
            """,  # noqa: S608 - the column list is a constant
            Range(start, end),
            practitioner_id,
        )
        return [_appointment(row) for row in rows]

    async def cancel(
        self,
        appointment_id: UUID,
        *,
        reason: str,
        idempotency_key: str,
        cancelled_by: str,
        now: datetime,
        reason_code: CancellationReason = CancellationReason.PATIENT_REQUEST,
    ) -> tuple[Appointment, bool]:
        """Cancel a booked appointment; its period is free at once.

        Returns (appointment, replayed). Cancelling one already cancelled returns it unchanged;
        one fulfilled or missed raises AppointmentStateError.
        """
        fingerprint = _digest("cancel", str(appointment_id), reason, cancelled_by)
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", idempotency_key
            )
            replay = await self._replay(connection, idempotency_key, "cancel", fingerprint)
            if replay is not None:
                return replay, True
            current = await self._locked(connection, appointment_id)
            if current.status == AppointmentStatus.CANCELLED:
                return current, False
            if current.status != AppointmentStatus.BOOKED:
                raise AppointmentStateError("only a booked appointment can be cancelled")
            row = await connection.fetchrow(
                f"""
                UPDATE appointments
                SET status = 'cancelled', cancellation_reason = $2, update_time = $3
                WHERE appointment_id = $1
                RETURNING {_APPOINTMENT_COLUMNS}
                """,  # noqa: S608 - the column list is a constant
                appointment_id,
                reason,
                now,
            )
            assert row is not None  # noqa: S101 - the row is locked
            appointment = _appointment(row)
            await _remember_key(
                connection, idempotency_key, "cancel", fingerprint, appointment, now
            )
            await _enqueue(
                connection,
                AppointmentCancelled(
                    appointment_id=appointment.id,
                    practitioner_id=appointment.practitioner_id,
                    start_time=appointment.start,
                    end_time=appointment.end,
                    reason=reason_code,
                ),
                now,
            )
            return appointment, False

    async def reschedule(
        self,
        appointment_id: UUID,
        *,
        practitioner_id: UUID,
        start: datetime,
        end: datetime,
        idempotency_key: str,
        now: datetime,
    ) -> tuple[Appointment, bool]:
        """Move a booked appointment to another period (and practitioner), keeping its id.

        Returns (appointment, replayed). Raises SlotTakenError when the new period overlaps
        another booking of that practitioner (the database refuses it), AppointmentStateError
        when the appointment is no longer booked.
        """
        fingerprint = _digest(
            "reschedule",
            str(appointment_id),
            str(practitioner_id),
            start.astimezone(UTC).isoformat(),
            end.astimezone(UTC).isoformat(),
        )
        async with self._pool.acquire() as connection:
            try:
                async with connection.transaction():
                    await connection.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", idempotency_key
                    )
                    replay = await self._replay(
                        connection, idempotency_key, "reschedule", fingerprint
                    )
                    if replay is not None:
                        return replay, True
                    current = await self._locked(connection, appointment_id)
                    if current.status != AppointmentStatus.BOOKED:
                        raise AppointmentStateError("only a booked appointment can be moved")
                    row = await connection.fetchrow(
                        f"""
                        UPDATE appointments
                        SET practitioner_id = $2, period = $3, update_time = $4
                        WHERE appointment_id = $1
                        RETURNING {_APPOINTMENT_COLUMNS}
                        """,  # noqa: S608 - the column list is a constant
                        appointment_id,
                        practitioner_id,
                        Range(start, end),
                        now,
                    )
                    assert row is not None  # noqa: S101 - the row is locked
                    appointment = _appointment(row)
                    await _remember_key(
                        connection, idempotency_key, "reschedule", fingerprint, appointment, now
                    )
                    await _enqueue(
                        connection,
                        AppointmentRescheduled(
                            appointment_id=appointment.id,
                            previous_practitioner_id=current.practitioner_id,
                            previous_start_time=current.start,
                            practitioner_id=appointment.practitioner_id,
                            start_time=appointment.start,
                            end_time=appointment.end,
                        ),
                        now,
                    )
                    return appointment, False
            except asyncpg.ExclusionViolationError as error:
                raise SlotTakenError("the slot is no longer free") from error

    async def record_attendance(
        self, appointment_id: UUID, status: AppointmentStatus, *, now: datetime
    ) -> Appointment:
        """Mark a booked appointment FULFILLED or NO_SHOW; marking it the same again is a no-op."""
        if status not in (AppointmentStatus.FULFILLED, AppointmentStatus.NO_SHOW):
            raise ValueError("attendance is fulfilled or no_show")
        async with self._pool.acquire() as connection, connection.transaction():
            current = await self._locked(connection, appointment_id)
            if current.status == status:
                return current
            if current.status != AppointmentStatus.BOOKED:
                raise AppointmentStateError("attendance is recorded on booked appointments only")
            row = await connection.fetchrow(
                f"""
                UPDATE appointments SET status = $2, update_time = $3
                WHERE appointment_id = $1
                RETURNING {_APPOINTMENT_COLUMNS}
                """,  # noqa: S608 - the column list is a constant
                appointment_id,
                str(status),
                now,
            )
            assert row is not None  # noqa: S101 - the row is locked
            return _appointment(row)

    async def _locked(
        self, connection: asyncpg.pool.PoolConnectionProxy[asyncpg.Record], appointment_id: UUID
    ) -> Appointment:
        row = await connection.fetchrow(
            f"SELECT {_APPOINTMENT_COLUMNS} FROM appointments "  # noqa: S608 - constant columns
            "WHERE appointment_id = $1 FOR UPDATE",
            appointment_id,
        )
        if row is None:
            raise AppointmentNotFoundError(str(appointment_id))
        return _appointment(row)

    async def list_appointments(
        self, where: AppointmentFilter, *, offset: int = 0, limit: int = 50
    ) -> tuple[list[Appointment], bool]:
        """Return appointments matching ``where`` by start time, and whether more follow."""
        rows = await self._pool.fetch(
            f"""
            SELECT {_APPOINTMENT_COLUMNS} FROM appointments a
            WHERE ($1::text IS NULL OR patient_subject = $1)
              AND ($2::uuid[] IS NULL OR practitioner_id = ANY ($2))
              AND ($3::uuid[] IS NULL OR practitioner_id IN (
                    SELECT practitioner_id FROM practitioners WHERE practice_id = ANY ($3)))
              AND (cardinality($4::text[]) = 0 OR status = ANY ($4))
              AND ($5::timestamptz IS NULL OR lower(period) >= $5)
              AND ($6::timestamptz IS NULL OR lower(period) < $6)
            ORDER BY lower(period), appointment_id
            OFFSET $7 LIMIT $8
            """,  # noqa: S608 - the column list is a constant
            where.patient_subject,
            None if where.practitioner_ids is None else list(where.practitioner_ids),
            None if where.practice_ids is None else list(where.practice_ids),
            sorted(str(s) for s in where.statuses),
            where.start,
            where.end,
            offset,
            limit + 1,
        )
        return [_appointment(row) for row in rows[:limit]], len(rows) > limit

    async def rekey_patient(self, from_subject: str, to_subject: str) -> int:
        """Move a guest's appointments to the account they signed up or in with."""
        result = await self._pool.execute(
            "UPDATE appointments SET patient_subject = $2 WHERE patient_subject = $1",
            from_subject,
            to_subject,
        )
        return int(result.rsplit(" ", 1)[-1])

    # Practices, links and availability in bulk ------------------------------------------------

    async def get_practice(self, practice_id: UUID) -> Practice | None:
        """One practice, or None."""
        row = await self._pool.fetchrow(
            "SELECT * FROM practices WHERE practice_id = $1", practice_id
        )
        return None if row is None else _practice(row)

    async def practices_of_clinician(self, subject: str, verified_email: str = "") -> set[UUID]:
        """Return the practices where the clinician signed in as ``subject`` works.

        A practitioner registered with the clinician's work e-mail but no account yet is linked
        to ``subject`` on the first call that presents that e-mail verified.
        """
        rows = await self._pool.fetch(
            "SELECT practice_id FROM practitioners WHERE user_id = $1", subject
        )
        if not rows and verified_email:
            rows = await self._pool.fetch(
                """
                UPDATE practitioners SET user_id = $1
                WHERE user_id = '' AND email <> '' AND lower(email) = lower($2)
                RETURNING practice_id
                """,
                subject,
                verified_email,
            )
        return {row["practice_id"] for row in rows}

    async def availability_of(
        self, practitioner_ids: Sequence[UUID]
    ) -> dict[UUID, list[AvailabilityRule]]:
        """Weekly rules of many practitioners in one query."""
        rows = await self._pool.fetch(
            """
            SELECT w.practitioner_id, w.weekday, w.start_time, w.end_time, w.appointment_type,
                   t.minutes
            FROM weekly_availability w JOIN appointment_types t ON t.code = w.appointment_type
            WHERE w.practitioner_id = ANY ($1)
            ORDER BY w.weekday, w.start_time
            """,
            list(practitioner_ids),
        )
        rules: dict[UUID, list[AvailabilityRule]] = {pid: [] for pid in practitioner_ids}
        for row in rows:
            rules[row["practitioner_id"]].append(
                AvailabilityRule(
                    weekday=row["weekday"],
                    start_time=row["start_time"],
                    end_time=row["end_time"],
                    appointment_type=row["appointment_type"],
                    slot_minutes=row["minutes"],
                )
            )
        return rules

    async def busy_of(
        self, practitioner_ids: Sequence[UUID], start: datetime, end: datetime
    ) -> dict[UUID, list[tuple[datetime, datetime]]]:
        """Exceptions and booked appointments of many practitioners overlapping [start, end)."""
        rows = await self._pool.fetch(
            """
            SELECT practitioner_id, period FROM availability_exceptions
            WHERE practitioner_id = ANY ($1) AND period && $2
            UNION ALL
            SELECT practitioner_id, period FROM appointments
            WHERE practitioner_id = ANY ($1) AND status = 'booked' AND period && $2
            """,
            list(practitioner_ids),
            Range(start, end),
        )
        busy: dict[UUID, list[tuple[datetime, datetime]]] = {pid: [] for pid in practitioner_ids}
        for row in rows:
            period = row["period"]
            busy[row["practitioner_id"]].append(
                (period.lower.astimezone(UTC), period.upper.astimezone(UTC))
            )
        for periods in busy.values():
            periods.sort()
        return busy

    async def exceptions_of(
        self, practitioner_id: UUID, since: datetime
    ) -> list[AvailabilityException]:
        """Exceptions of a practitioner ending after ``since``, soonest first."""
        rows = await self._pool.fetch(
            """
            SELECT exception_id, practitioner_id, period, kind, note
            FROM availability_exceptions
            WHERE practitioner_id = $1 AND upper(period) > $2
            ORDER BY lower(period)
            """,
            practitioner_id,
            since,
        )
        return [
            AvailabilityException(
                id=row["exception_id"],
                practitioner_id=row["practitioner_id"],
                start=row["period"].lower.astimezone(UTC),
                end=row["period"].upper.astimezone(UTC),
                kind=ExceptionKind(row["kind"]),
                note=row["note"],
            )
            for row in rows
        ]

    # Outbox -------------------------------------------------------------------------------------

    async def unpublished_events(self, limit: int = 100) -> list[OutboxRow]:
        """Events not yet published, oldest first."""
        rows = await self._pool.fetch(
            """
            SELECT event_id, subject, payload FROM outbox
            WHERE publish_time IS NULL ORDER BY create_time, event_id LIMIT $1
            """,
            limit,
        )
        return [OutboxRow(row["event_id"], row["subject"], bytes(row["payload"])) for row in rows]

    async def mark_published(self, event_id: UUID, now: datetime) -> None:
        """Record that JetStream acknowledged the event."""
        await self._pool.execute(
            "UPDATE outbox SET publish_time = $2 WHERE event_id = $1", event_id, now
        )

    async def note_publish_failure(self, event_id: UUID) -> None:
        """Count a failed attempt (for the metric of events stuck in the outbox)."""
        await self._pool.execute(
            "UPDATE outbox SET attempts = attempts + 1 WHERE event_id = $1", event_id
        )


def _digest(*fields: str) -> str:
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def _event_urgency(urgency: UrgencyLevel | None) -> EventUrgency | None:
    return None if urgency is None else EventUrgency(urgency.name.lower())


async def _remember_key(
    connection: asyncpg.pool.PoolConnectionProxy[asyncpg.Record],
    key: str,
    operation: str,
    fingerprint: str,
    appointment: Appointment,
    now: datetime,
) -> None:
    await connection.execute(
        """
        INSERT INTO idempotency_keys (key, operation, request_hash, appointment_id, create_time)
        VALUES ($1, $2, $3, $4, $5)
        """,
        key,
        operation,
        fingerprint,
        appointment.id,
        now,
    )


async def _enqueue(
    connection: asyncpg.pool.PoolConnectionProxy[asyncpg.Record],
    payload: EventPayload,
    now: datetime,
) -> None:
    """Write the event in the caller's transaction; the relay publishes it after commit."""
    event = new_event(payload, source=EVENT_SOURCE, occurred_at=now)
    await connection.execute(
        "INSERT INTO outbox (event_id, subject, payload, create_time) VALUES ($1, $2, $3, $4)",
        event.event_id,
        event.subject,
        event.to_json(),
        now,
    )
