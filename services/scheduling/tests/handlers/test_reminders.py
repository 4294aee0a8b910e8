"""The reminder worker against a real PostgreSQL and a real SMTP server (aiosmtpd).

What a patient would notice: one reminder per appointment, a set time before it, however often
the worker runs, restarts or runs twice; none for a cancelled appointment; one for the new time
of a rescheduled one; and a reminder that could not leave while the mail server was down leaves
once it is back.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from uuid import UUID, uuid4

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from prometheus_client import REGISTRY
from voiceassist_common.testing import free_port
from voiceassist_scheduling.adapters.notifiers import EmailNotifier
from voiceassist_scheduling.adapters.reminder_store import PostgresReminderStore
from voiceassist_scheduling.adapters.repository import (
    BookingRequest,
    PostgresSchedulingRepository,
)
from voiceassist_scheduling.domain.model import (
    AvailabilityRule,
    Practice,
    Practitioner,
    Specialty,
    UrgencyLevel,
)
from voiceassist_scheduling.domain.reminders import Channel
from voiceassist_scheduling.handlers.reminders import ReminderWorker

pytestmark = pytest.mark.integration

BOOKED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MONDAY_NINE = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 in Paris
LEAD = timedelta(hours=24)
REMINDER_TIME = MONDAY_NINE - LEAD + timedelta(minutes=1)
REASON = "chest tightness on stairs"
SENDER = "VoiceAssist <no-reply@clinic.example>"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        # Set from the server's thread, so a threading (not asyncio) event.
        self.received = threading.Event()

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.received.set()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


class MailServer:
    """A real SMTP server on a fixed loopback port that the test can stop and start."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    """Return a running SMTP server."""
    server = MailServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pool(scheduling_pool: asyncpg.Pool[asyncpg.Record]) -> asyncpg.Pool[asyncpg.Record]:
    """Lend the shared emptied pool (its TRUNCATE ... CASCADE empties reminder_deliveries)."""
    return scheduling_pool


@pytest.fixture
async def doctor(pool: asyncpg.Pool[asyncpg.Record]) -> Practitioner:
    clinic = PostgresSchedulingRepository(pool)
    practice = await clinic.add_practice(
        Practice(uuid4(), "Cabinet Bastille", "Paris", "Europe/Paris", "1 rue de la Roquette")
    )
    doctor = await clinic.add_practitioner(
        Practitioner(uuid4(), "Dr Claire Martin", (Specialty.CARDIOLOGY,), ("fr",), practice.id)
    )
    await clinic.ensure_appointment_type("consultation", "Consultation", 30)
    await clinic.set_weekly_availability(
        doctor.id, [AvailabilityRule(1, time(9), time(12), "consultation", 30)]
    )
    return doctor


async def book(
    pool: asyncpg.Pool[asyncpg.Record],
    doctor: Practitioner,
    *,
    patient: str = "patient-alex",
    contact: str = "alex@example.org",
    minutes: int = 0,
) -> UUID:
    """Book a consultation at Monday 09:00 Paris + ``minutes``; the patient's e-mail on it."""
    start = MONDAY_NINE + timedelta(minutes=minutes)
    appointment, _ = await PostgresSchedulingRepository(pool).book(
        BookingRequest(
            patient_subject=patient,
            practitioner_id=doctor.id,
            start=start,
            end=start + timedelta(minutes=30),
            created_by=patient,
            reason=REASON,
            urgency=UrgencyLevel.CONSULTATION,
        ),
        idempotency_key=str(uuid4()),
        now=BOOKED_AT,
    )
    # Booking does not take the contact yet: the lead's gRPC Book will set it.
    await pool.execute(
        "UPDATE appointments SET contact_email = $2, contact_language = 'fr' "
        "WHERE appointment_id = $1",
        appointment.id,
        contact,
    )
    return appointment.id


def worker(
    pool: asyncpg.Pool[asyncpg.Record], port: int, clock: Clock, **options: object
) -> ReminderWorker:
    """Return a worker as the service builds one; a fresh instance is a restarted process."""
    return ReminderWorker(
        PostgresReminderStore(pool),
        [EmailNotifier("127.0.0.1", port, sender=SENDER, timeout_seconds=5)],
        lead=LEAD,
        poll_seconds=0.01,
        clock=clock,
        **options,  # type: ignore[arg-type]
    )


def reminders_counted(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "voiceassist_scheduling_reminders_total", {"channel": "email", "outcome": outcome}
    )
    return value or 0.0


async def test_a_reminder_goes_out_once_the_lead_time_before_and_never_again(
    pool: asyncpg.Pool[asyncpg.Record], doctor: Practitioner, smtp: MailServer
) -> None:
    await book(pool, doctor)
    clock = Clock(MONDAY_NINE - LEAD - timedelta(minutes=1))
    reminders = worker(pool, smtp.port, clock)
    sent_before = reminders_counted("sent")

    assert await reminders.run_once() == 0  # not due yet
    clock.now = REMINDER_TIME
    assert await reminders.run_once() == 1
    assert await reminders.run_once() == 0

    [mail] = smtp.inbox.to("alex@example.org")
    assert "lundi 7 décembre 2026 à 09:00" in mail["Subject"]
    assert REASON not in mail.as_string()
    assert reminders_counted("sent") - sent_before == 1


async def test_a_restarted_worker_does_not_send_it_again(
    pool: asyncpg.Pool[asyncpg.Record], doctor: Practitioner, smtp: MailServer
) -> None:
    await book(pool, doctor)
    clock = Clock(REMINDER_TIME)
    assert await worker(pool, smtp.port, clock).run_once() == 1

    restarted = worker(pool, smtp.port, clock)

    assert await restarted.run_once() == 0
    clock.now += timedelta(hours=1)
    assert await restarted.run_once() == 0
    assert len(smtp.inbox.messages) == 1


async def test_a_reminder_claimed_by_a_worker_that_died_is_sent_once_its_lease_runs_out(
    pool: asyncpg.Pool[asyncpg.Record], doctor: Practitioner, smtp: MailServer
) -> None:
    await book(pool, doctor)
    clock = Clock(REMINDER_TIME)
    lease = timedelta(minutes=5)
    # A worker records and claims the reminder, then dies before sending it.
    store = PostgresReminderStore(pool)
    await store.schedule_due(now=clock.now, lead=LEAD, channels=[Channel.EMAIL])
    assert len(await store.claim(now=clock.now, lease=lease, channels=[Channel.EMAIL])) == 1

    survivor = worker(pool, smtp.port, clock, lease=lease)
    assert await survivor.run_once() == 0  # the lease still holds
    clock.now += lease
    assert await survivor.run_once() == 1
    assert await survivor.run_once() == 0

    assert len(smtp.inbox.messages) == 1


async def test_two_workers_running_at_once_send_each_reminder_once(
    pool: asyncpg.Pool[asyncpg.Record], doctor: Practitioner, smtp: MailServer
) -> None:
    patients = [f"patient-{n}" for n in range(6)]
    for n, patient in enumerate(patients):
        await book(pool, doctor, patient=patient, contact=f"{patient}@example.org", minutes=30 * n)
    clock = Clock(MONDAY_NINE - timedelta(hours=1))  # all six are due

    sent = await asyncio.gather(
        worker(pool, smtp.port, clock, batch_size=2).run_once(),
        worker(pool, smtp.port, clock, batch_size=2).run_once(),
    )

    assert sum(sent) == len(patients)
    for patient in patients:
        assert len(smtp.inbox.to(f"{patient}@example.org")) == 1


async def test_a_cancelled_appointment_gets_no_reminder(
    pool: asyncpg.Pool[asyncpg.Record], doctor: Practitioner, smtp: MailServer
) -> None:
    appointment_id = await book(pool, doctor)
    await PostgresSchedulingRepository(pool).cancel(
        appointment_id,
        reason="feeling better",
        idempotency_key=str(uuid4()),
        cancelled_by="patient-alex",
        now=BOOKED_AT + timedelta(hours=1),
    )

    assert await worker(pool, smtp.port, Clock(REMINDER_TIME)).run_once() == 0
    assert smtp.inbox.messages == []


async def test_a_rescheduled_appointment_gets_a_reminder_for_its_new_time(
    pool: asyncpg.Pool[asyncpg.Record], doctor: Practitioner, smtp: MailServer
) -> None:
    appointment_id = await book(pool, doctor)
    clock = Clock(REMINDER_TIME)
    reminders = worker(pool, smtp.port, clock)
    assert await reminders.run_once() == 1

    # Moved to 11:00 Paris; its reminder falls due two hours later.
    new_start = MONDAY_NINE + timedelta(hours=2)
    await PostgresSchedulingRepository(pool).reschedule(
        appointment_id,
        practitioner_id=doctor.id,
        start=new_start,
        end=new_start + timedelta(minutes=30),
        idempotency_key=str(uuid4()),
        now=clock.now,
    )
    assert await reminders.run_once() == 0
    clock.now += timedelta(hours=2)
    assert await reminders.run_once() == 1
    assert await reminders.run_once() == 0

    first, second = smtp.inbox.to("alex@example.org")
    assert "09:00" in first["Subject"]
    assert "11:00" in second["Subject"]
    assert first["Message-ID"] != second["Message-ID"]


async def test_moving_to_another_practitioner_at_the_same_time_sends_a_new_reminder(
    pool: asyncpg.Pool[asyncpg.Record], doctor: Practitioner, smtp: MailServer
) -> None:
    clinic = PostgresSchedulingRepository(pool)
    colleague = await clinic.add_practitioner(
        Practitioner(
            uuid4(), "Dr Karim Haddad", (Specialty.CARDIOLOGY,), ("fr",), doctor.practice_id
        )
    )
    await clinic.set_weekly_availability(
        colleague.id, [AvailabilityRule(1, time(9), time(12), "consultation", 30)]
    )
    appointment_id = await book(pool, doctor)
    clock = Clock(REMINDER_TIME)
    reminders = worker(pool, smtp.port, clock)
    assert await reminders.run_once() == 1

    await clinic.reschedule(
        appointment_id,
        practitioner_id=colleague.id,
        start=MONDAY_NINE,
        end=MONDAY_NINE + timedelta(minutes=30),
        idempotency_key=str(uuid4()),
        now=clock.now,
    )
    assert await reminders.run_once() == 1

    first, second = smtp.inbox.to("alex@example.org")
    assert "Dr Claire Martin" in first["Subject"]
    assert "Dr Karim Haddad" in second["Subject"]


async def test_while_the_mail_server_is_down_the_reminder_waits_then_leaves_once(
    pool: asyncpg.Pool[asyncpg.Record], doctor: Practitioner
) -> None:
    await book(pool, doctor)
    server = MailServer()  # not started: nothing listens on its port yet
    clock = Clock(REMINDER_TIME)
    reminders = worker(pool, server.port, clock, retry_after=timedelta(minutes=1))
    retries_before = reminders_counted("retry")

    assert await reminders.run_once() == 0
    assert reminders_counted("retry") - retries_before == 1
    server.start()
    try:
        assert await reminders.run_once() == 0  # backing off: not retried at once
        clock.now += timedelta(minutes=1)
        assert await reminders.run_once() == 1
        assert await reminders.run_once() == 0
        assert len(server.inbox.messages) == 1
    finally:
        server.stop()


async def test_a_reminder_that_keeps_failing_is_given_up(
    pool: asyncpg.Pool[asyncpg.Record], doctor: Practitioner
) -> None:
    await book(pool, doctor)
    server = MailServer()
    clock = Clock(REMINDER_TIME)
    reminders = worker(pool, server.port, clock, max_attempts=2, retry_after=timedelta(minutes=1))
    failed_before = reminders_counted("failed")

    assert await reminders.run_once() == 0
    clock.now += timedelta(minutes=1)
    assert await reminders.run_once() == 0
    assert reminders_counted("failed") - failed_before == 1
    server.start()
    try:
        clock.now += timedelta(hours=1)
        assert await reminders.run_once() == 0
        assert server.inbox.messages == []
    finally:
        server.stop()


async def test_an_appointment_without_an_email_is_skipped_and_counted_once(
    pool: asyncpg.Pool[asyncpg.Record], doctor: Practitioner, smtp: MailServer
) -> None:
    await book(pool, doctor, contact="")
    skipped_before = reminders_counted("skipped")
    reminders = worker(pool, smtp.port, Clock(REMINDER_TIME))

    assert await reminders.run_once() == 0
    assert await reminders.run_once() == 0

    assert smtp.inbox.messages == []
    assert reminders_counted("skipped") - skipped_before == 1


async def test_the_running_worker_sends_due_reminders_until_cancelled(
    pool: asyncpg.Pool[asyncpg.Record], doctor: Practitioner, smtp: MailServer
) -> None:
    await book(pool, doctor)
    running = asyncio.create_task(worker(pool, smtp.port, Clock(REMINDER_TIME)).run())
    try:
        assert await asyncio.to_thread(smtp.inbox.received.wait, 10)
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

    assert len(smtp.inbox.messages) == 1
