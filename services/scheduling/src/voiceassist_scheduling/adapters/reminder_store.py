"""The reminder worker's view of PostgreSQL: which reminders are due, who sends each, outcomes.

Every step is one short committed statement, so the database, not a worker's memory, says what
was sent, and any number of workers (or a restarted one) agree:

1. `schedule_due` creates one ``reminder_deliveries`` row per booked appointment starting within
   the lead time, per channel (INSERT ... ON CONFLICT DO NOTHING on the (appointment, start,
   practitioner, channel) key: two workers create it once). An appointment without a contact
   for the channel gets a ``skipped`` row, counted once by whoever created it.
2. `claim` takes due rows (pending and due, or sending with an expired lease) with
   ``FOR UPDATE SKIP LOCKED`` and marks them ``sending`` with a lease, in a transaction committed
   before anything is sent: a concurrent worker skips or no longer sees them. Only rows whose
   appointment is still booked at the same start with the same practitioner are claimed, so a
   cancelled appointment gets no reminder and a rescheduled one only the reminder for its new
   time.
3. `mark_sent` / `mark_failed` record the outcome; a failure goes back to pending with a
   backoff, or to failed for good after the last attempt.

Times come from the caller's clock (never ``now()`` in SQL), so tests can move time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from voiceassist_scheduling.domain.model import (
    Appointment,
    AppointmentStatus,
    Practice,
    Practitioner,
    Specialty,
    UrgencyLevel,
)
from voiceassist_scheduling.domain.reminders import Channel, ReminderKey

__all__ = ["ClaimedReminder", "PostgresReminderStore"]

# Where each channel's address lives on an appointment. SMS has no column yet: booking does not
# collect a phone number, so every SMS reminder is recorded as skipped.
_CONTACT_COLUMN = {Channel.EMAIL: "a.contact_email", Channel.SMS: "''"}


@dataclass(frozen=True)
class ClaimedReminder:
    """A reminder this worker holds the lease on: send it, then mark it."""

    key: ReminderKey
    claim_token: UUID
    attempts: int
    """Attempts so far, this one included."""
    recipient: str
    language: str
    appointment: Appointment
    practitioner: Practitioner
    practice: Practice


def _claimed(row: asyncpg.Record) -> ClaimedReminder:
    period = row["period"]
    appointment = Appointment(
        id=row["appointment_id"],
        patient_subject=row["patient_subject"],
        practitioner_id=row["practitioner_id"],
        start=period.lower.astimezone(UTC),
        end=period.upper.astimezone(UTC),
        status=AppointmentStatus(row["status"]),
        created_by=row["created_by"],
        create_time=row["create_time"].astimezone(UTC),
        update_time=row["update_time"].astimezone(UTC),
        urgency=None if row["urgency"] is None else UrgencyLevel(row["urgency"]),
        triage_assessment_id=row["triage_assessment_id"],
        # The reason stays in the database: no reminder needs it.
    )
    practice = Practice(
        id=row["practice_id"],
        name=row["practice_name"],
        city=row["city"],
        timezone=row["timezone"],
        address=row["address"],
        latitude=row["latitude"],
        longitude=row["longitude"],
    )
    practitioner = Practitioner(
        id=row["practitioner_id"],
        display_name=row["display_name"],
        specialties=tuple(Specialty(s) for s in row["specialties"]),
        languages=tuple(row["languages"]),
        practice_id=row["practice_id"],
        active=row["active"],
        user_id=row["user_id"],
    )
    return ClaimedReminder(
        key=ReminderKey(
            appointment_id=row["appointment_id"],
            appointment_start=row["appointment_start"].astimezone(UTC),
            practitioner_id=row["practitioner_id"],
            channel=Channel(row["channel"]),
        ),
        claim_token=row["claim_token"],
        attempts=row["attempts"],
        recipient=row["recipient"],
        language=row["contact_language"],
        appointment=appointment,
        practitioner=practitioner,
        practice=practice,
    )


class PostgresReminderStore:
    """Reminder deliveries in the scheduling schema, through a pool confined to it."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        """Use ``pool``, whose connections see the scheduling schema first."""
        self._pool = pool

    async def schedule_due(
        self, *, now: datetime, lead: timedelta, channels: Sequence[Channel]
    ) -> dict[Channel, int]:
        """Create the deliveries that became due; return how many were skipped, per channel.

        Due: booked, starting after ``now`` and at most ``lead`` after it, with no delivery
        recorded for that start on that channel yet.
        """
        skipped: dict[Channel, int] = {}
        for channel in channels:
            contact = _CONTACT_COLUMN[channel]
            rows = await self._pool.fetch(
                f"""
                INSERT INTO reminder_deliveries
                    (appointment_id, appointment_start, practitioner_id, channel, state,
                     next_attempt_time, create_time, update_time)
                SELECT a.appointment_id, lower(a.period), a.practitioner_id, $3,
                       CASE WHEN {contact} = '' THEN 'skipped' ELSE 'pending' END,
                       $1, $1, $1
                FROM appointments a
                WHERE a.status = 'booked'
                  AND lower(a.period) > $1 AND lower(a.period) <= $2
                  AND NOT EXISTS (
                      SELECT 1 FROM reminder_deliveries d
                      WHERE d.appointment_id = a.appointment_id
                        AND d.appointment_start = lower(a.period)
                        AND d.practitioner_id = a.practitioner_id AND d.channel = $3)
                ON CONFLICT DO NOTHING
                RETURNING state
                """,  # noqa: S608 - the contact column is one of two constants
                now,
                now + lead,
                channel.value,
            )
            skipped[channel] = sum(1 for row in rows if row["state"] == "skipped")
        return skipped

    async def claim(
        self,
        *,
        now: datetime,
        lease: timedelta,
        channels: Sequence[Channel],
        limit: int = 50,
    ) -> list[ClaimedReminder]:
        """Take up to ``limit`` due deliveries for this worker until ``now + lease``.

        Committed before returning: another worker no longer sees them until the lease runs
        out (which only happens if this worker dies or hangs mid-send).
        """
        token = uuid4()
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                """
                WITH due AS (
                    SELECT d.appointment_id, d.appointment_start, d.practitioner_id, d.channel
                    FROM reminder_deliveries d
                    JOIN appointments a
                      ON a.appointment_id = d.appointment_id
                     AND lower(a.period) = d.appointment_start
                     AND a.practitioner_id = d.practitioner_id
                     AND a.status = 'booked'
                    WHERE d.state IN ('pending', 'sending')
                      AND d.next_attempt_time <= $1
                      AND d.appointment_start > $1
                      AND d.channel = ANY($4::text[])
                    ORDER BY d.appointment_start, d.appointment_id
                    LIMIT $5
                    FOR UPDATE OF d SKIP LOCKED
                ),
                claimed AS (
                    UPDATE reminder_deliveries d
                    SET state = 'sending', attempts = d.attempts + 1,
                        claimed_until = $2, next_attempt_time = $2, claim_token = $3,
                        update_time = $1
                    FROM due
                    WHERE d.appointment_id = due.appointment_id
                      AND d.appointment_start = due.appointment_start
                      AND d.practitioner_id = due.practitioner_id
                      AND d.channel = due.channel
                    RETURNING d.appointment_id, d.appointment_start, d.channel, d.attempts,
                              d.claim_token
                )
                SELECT c.appointment_id, c.appointment_start, c.channel, c.attempts,
                       c.claim_token,
                       CASE c.channel WHEN 'email' THEN a.contact_email ELSE '' END
                           AS recipient,
                       a.contact_language, a.patient_subject, a.practitioner_id, a.period,
                       a.status, a.created_by, a.create_time, a.update_time, a.urgency,
                       a.triage_assessment_id,
                       p.display_name, p.specialties, p.languages, p.practice_id, p.active,
                       p.user_id,
                       pr.name AS practice_name, pr.city, pr.timezone, pr.address,
                       pr.latitude, pr.longitude
                FROM claimed c
                JOIN appointments a ON a.appointment_id = c.appointment_id
                JOIN practitioners p ON p.practitioner_id = a.practitioner_id
                JOIN practices pr ON pr.practice_id = p.practice_id
                ORDER BY c.appointment_start, c.appointment_id
                """,
                now,
                now + lease,
                token,
                [channel.value for channel in channels],
                limit,
            )
        return [_claimed(row) for row in rows]

    async def mark_sent(self, claim: ClaimedReminder, *, message_id: str, now: datetime) -> None:
        """Record that the reminder left (even if this worker's lease ran out meanwhile)."""
        await self._pool.execute(
            f"""
            UPDATE reminder_deliveries
            SET state = 'sent', sent_time = $5, message_id = $6, last_error = '',
                claimed_until = NULL, claim_token = NULL, update_time = $5
            WHERE {_THIS_DELIVERY} AND state <> 'sent'
            """,  # noqa: S608 - a constant condition
            *_key_arguments(claim.key),
            now,
            message_id,
        )

    async def mark_failed(
        self,
        claim: ClaimedReminder,
        *,
        error: str,
        now: datetime,
        retry_at: datetime | None,
    ) -> None:
        """Record a failed attempt: retry at ``retry_at``, or give up when it is None.

        Only while this worker still holds the claim: if the lease ran out and another worker
        took the reminder, that worker's outcome is the one that counts.
        """
        await self._pool.execute(
            f"""
            UPDATE reminder_deliveries
            SET state = CASE WHEN $7::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
                next_attempt_time = coalesce($7, next_attempt_time),
                last_error = $6, claimed_until = NULL, claim_token = NULL, update_time = $8
            WHERE {_THIS_DELIVERY} AND state = 'sending' AND claim_token = $5
            """,  # noqa: S608 - a constant condition
            *_key_arguments(claim.key),
            claim.claim_token,
            error,
            retry_at,
            now,
        )


_THIS_DELIVERY = (
    "appointment_id = $1 AND appointment_start = $2 AND practitioner_id = $3 AND channel = $4"
)


def _key_arguments(key: ReminderKey) -> tuple[UUID, datetime, UUID, str]:
    return key.appointment_id, key.appointment_start, key.practitioner_id, key.channel.value
