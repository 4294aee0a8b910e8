"""The reminder worker: sends each appointment's reminder once, a set time before it starts.

Every ``poll_seconds`` the worker records the reminders that became due (booked appointments
starting within ``lead``), claims a few in a committed transaction (a lease: any other worker,
or this one restarted, leaves them alone), sends them through the channel's `Notifier`, and
records the outcome. A failed attempt is retried with exponential backoff, and given up after
``max_attempts`` or when the next attempt would come after the appointment has started.

Exactly once, and where it cannot be: the database makes every reminder be *claimed* exactly
once at a time, so two workers or a restarted worker never send a reminder that was sent and
recorded, and a cancelled or rescheduled appointment's old reminder is never claimed. What no
database can close is the gap between the SMTP server accepting a mail and the worker recording
it: a crash (or a database outage outlasting the process) in that gap leaves the delivery
"sending"; when its lease runs out another attempt sends it again. We chose that side
(at-least-once in that gap) over the other (never re-claim an expired lease: a worker killed
after claiming but before sending, e.g. during a deploy, would silently drop the reminder),
because a duplicate reminder is harmless and a missing one costs a missed consultation. The
duplicate is made recognisable: every attempt at one reminder carries the same Message-ID
(derived from appointment, start and channel), which mail servers and clients use to collapse
copies. While the process lives, a sent reminder whose recording failed is kept in memory and
recorded on the next pass instead of being re-sent.

Metric: ``voiceassist_scheduling_reminders_total{channel, outcome}``, outcome one of sent,
retry (an attempt failed, another will follow), failed (given up), skipped (no contact for the
channel). Logs name appointment ids and channels only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from voiceassist_common.phi import safe

from voiceassist_scheduling.adapters.notifiers import Notifier, PermanentDeliveryError
from voiceassist_scheduling.adapters.reminder_store import ClaimedReminder, PostgresReminderStore
from voiceassist_scheduling.domain.reminders import Reminder

__all__ = ["REMINDERS", "ReminderWorker"]

logger = logging.getLogger(__name__)

REMINDERS = Counter(
    "voiceassist_scheduling_reminders",
    "Appointment reminders by channel and outcome (sent, retry, failed, skipped).",
    ["channel", "outcome"],
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _error_code(error: Exception) -> str:
    # The class and an SMTP reply code, never the message: replies often quote the address.
    code = getattr(error, "code", None)
    name = type(error).__name__
    return f"{name} {code}" if isinstance(code, int) else name


class ReminderWorker:
    """Sends due appointment reminders through one notifier per channel."""

    def __init__(
        self,
        store: PostgresReminderStore,
        notifiers: Iterable[Notifier],
        *,
        lead: timedelta,
        poll_seconds: float,
        clock: Callable[[], datetime] = _utc_now,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = 5,
        retry_after: timedelta = timedelta(minutes=1),
        max_retry_after: timedelta = timedelta(hours=1),
        batch_size: int = 10,
    ) -> None:
        """Send reminders ``lead`` before each appointment, looking every ``poll_seconds``.

        ``lease`` is how long a claimed reminder is this worker's alone: it must outlast one
        batch of sends (sent concurrently, each bounded by the notifier's timeout), else a
        slow send could be taken over and sent twice. Failed attempts wait ``retry_after``,
        doubling up to ``max_retry_after``.
        """
        self._store = store
        self._notifiers = {notifier.channel: notifier for notifier in notifiers}
        self._channels = sorted(self._notifiers)
        self._lead = lead
        self._poll_seconds = poll_seconds
        self._clock = clock
        self._lease = lease
        self._max_attempts = max_attempts
        self._retry_after = retry_after
        self._max_retry_after = max_retry_after
        self._batch_size = batch_size
        self._unrecorded: list[tuple[ClaimedReminder, str]] = []

    async def run(self) -> None:
        """Send due reminders every ``poll_seconds`` until cancelled; survive database outages."""
        while True:
            try:
                await self.run_once()
            except Exception as error:  # the loop must outlive any one pass
                logger.warning("reminder pass failed (%s); retrying", safe(_error_code(error)))
            await asyncio.sleep(self._poll_seconds)

    async def run_once(self) -> int:
        """Send every reminder due now; return how many were sent."""
        await self._record_unrecorded()
        skipped = await self._store.schedule_due(
            now=self._clock(), lead=self._lead, channels=self._channels
        )
        for channel, count in skipped.items():
            if count:
                REMINDERS.labels(channel=channel.value, outcome="skipped").inc(count)
        sent = 0
        while True:
            claims = await self._store.claim(
                now=self._clock(),
                lease=self._lease,
                channels=self._channels,
                limit=self._batch_size,
            )
            results = await asyncio.gather(*(self._deliver(claim) for claim in claims))
            sent += sum(results)
            if len(claims) < self._batch_size:
                return sent

    async def _deliver(self, claim: ClaimedReminder) -> int:
        channel = claim.key.channel
        reminder = Reminder(
            key=claim.key,
            recipient=claim.recipient,
            language=claim.language,
            appointment=claim.appointment,
            practitioner=claim.practitioner,
            practice=claim.practice,
        )
        try:
            message_id = await self._notifiers[channel].send(reminder)
        except Exception as error:  # recorded; none kills the pass
            await self._record_failure(claim, error)
            return 0
        REMINDERS.labels(channel=channel.value, outcome="sent").inc()
        logger.info(
            "reminder for appointment %s sent by %s",
            safe(str(claim.key.appointment_id)),
            safe(channel.value),
        )
        try:
            await self._store.mark_sent(claim, message_id=message_id, now=self._clock())
        except Exception as error:  # kept: recorded on the next pass
            logger.warning(
                "reminder for appointment %s sent but not recorded (%s)",
                safe(str(claim.key.appointment_id)),
                safe(_error_code(error)),
            )
            self._unrecorded.append((claim, message_id))
        return 1

    async def _record_unrecorded(self) -> None:
        while self._unrecorded:
            claim, message_id = self._unrecorded[0]
            await self._store.mark_sent(claim, message_id=message_id, now=self._clock())
            self._unrecorded.pop(0)

    async def _record_failure(self, claim: ClaimedReminder, error: Exception) -> None:
        now = self._clock()
        retry_at: datetime | None = None
        if not isinstance(error, PermanentDeliveryError) and claim.attempts < self._max_attempts:
            delay = min(self._retry_after * 2 ** (claim.attempts - 1), self._max_retry_after)
            retry_at = now + delay
            if retry_at >= claim.key.appointment_start:
                retry_at = None  # a reminder after the appointment began helps nobody
        outcome = "failed" if retry_at is None else "retry"
        REMINDERS.labels(channel=claim.key.channel.value, outcome=outcome).inc()
        logger.warning(
            "reminder for appointment %s by %s not sent (%s): %s",
            safe(str(claim.key.appointment_id)),
            safe(claim.key.channel.value),
            safe(_error_code(error)),
            safe("will retry" if retry_at else "given up"),
        )
        await self._store.mark_failed(claim, error=_error_code(error), now=now, retry_at=retry_at)
