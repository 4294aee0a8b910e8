"""Where scheduling keeps the clinic and its bookings: PostgreSQL through asyncpg.

The database, not Python, guarantees that two booked appointments of one practitioner never
overlap: `book` simply INSERTs, and the exclusion constraint ``appointments_never_overlap``
refuses the loser of any race, which surfaces as `SlotTakenError`. Idempotent booking stores the
client's key with a hash of the request in the same transaction as the appointment, so a retry
after a lost response finds the first appointment instead of creating a second one; the same key
with a different request is refused (`IdempotencyKeyReusedError`).
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

from voiceassist_scheduling.domain.model import (
    Appointment,
    AppointmentStatus,
    AvailabilityException,
    AvailabilityRule,
    Practice,
    Practitioner,
    Specialty,
    UrgencyLevel,
)

__all__ = [
    "AppointmentNotFoundError",
    "BookingRequest",
    "IdempotencyKeyReusedError",
    "PostgresSchedulingRepository",
    "SlotTakenError",
]


class SlotTakenError(Exception):
    """The period overlaps a booked appointment of the same practitioner."""


class IdempotencyKeyReusedError(Exception):
    """The idempotency key was already used for a different request."""


class AppointmentNotFoundError(Exception):
    """No appointment has that id."""


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
                 user_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (practitioner_id) DO UPDATE SET display_name = EXCLUDED.display_name,
                specialties = EXCLUDED.specialties, languages = EXCLUDED.languages,
                practice_id = EXCLUDED.practice_id, active = EXCLUDED.active,
                user_id = EXCLUDED.user_id
            RETURNING *
            """,
            practitioner.id,
            practitioner.display_name,
            [str(s) for s in practitioner.specialties],
            list(practitioner.languages),
            practitioner.practice_id,
            practitioner.active,
            practitioner.user_id,
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
        rows = await self._pool.fetch(
            """
            SELECT w.weekday, w.start_time, w.end_time, w.appointment_type, t.minutes
            FROM weekly_availability w JOIN appointment_types t ON t.code = w.appointment_type
            WHERE w.practitioner_id = $1
            ORDER BY w.weekday, w.start_time
            """,
            practitioner_id,
        )
        return [
            AvailabilityRule(
                weekday=row["weekday"],
                start_time=row["start_time"],
                end_time=row["end_time"],
                appointment_type=row["appointment_type"],
                slot_minutes=row["minutes"],
            )
            for row in rows
        ]

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
        rows = await self._pool.fetch(
            """
            SELECT period FROM availability_exceptions
            WHERE practitioner_id = $1 AND period && $2
            UNION ALL
            SELECT period FROM appointments
            WHERE practitioner_id = $1 AND status = 'booked' AND period && $2
            """,
            practitioner_id,
            Range(start, end),
        )
        periods = [
            (r["period"].lower.astimezone(UTC), r["period"].upper.astimezone(UTC)) for r in rows
        ]
        return sorted(periods)

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
                        INSERT INTO appointments ({_APPOINTMENT_COLUMNS})
                        VALUES ($1, $2, $3, $4, 'booked', $5, $6, $7, $8, $9, $9, '')
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
                    return appointment, False
            except asyncpg.ExclusionViolationError as error:
                raise SlotTakenError("the slot is no longer free") from error

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

    async def cancel(self, appointment_id: UUID, *, reason: str, now: datetime) -> Appointment:
        """Cancel a booked appointment (its period is free at once); cancelling twice is a no-op."""
        row = await self._pool.fetchrow(
            f"""
            UPDATE appointments
            SET status = 'cancelled', cancellation_reason = $2, update_time = $3
            WHERE appointment_id = $1 AND status = 'booked'
            RETURNING {_APPOINTMENT_COLUMNS}
            """,  # noqa: S608 - the column list is a constant
            appointment_id,
            reason,
            now,
        )
        if row is None:
            found = await self.get_appointment(appointment_id)
            if found is None:
                raise AppointmentNotFoundError(str(appointment_id))
            return found
        return _appointment(row)

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
