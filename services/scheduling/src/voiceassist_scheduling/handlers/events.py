"""NATS entry point of scheduling: a guest's bookings follow them into their account.

A patient may book as a guest and sign up or in afterwards; auth then publishes
``auth.guest.upgraded`` (guest subject -> account subject). The durable consumer
``scheduling-guest-upgrades`` records the guest's appointments as the account's, so "my
appointments" shows them after sign-up and the guest token no longer reaches them. Delivery is
at least once and moving what is already moved moves nothing, so redelivery is harmless; a
database outage raises and the event is delivered again later.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext
from prometheus_client import Counter
from voiceassist_common.events import Event, EventPayload, GuestSessionUpgraded
from voiceassist_common.messaging import AUTH, DurableConsumer

__all__ = ["APPOINTMENTS_REASSIGNED", "DURABLE", "guest_upgrade_consumer"]

logger = logging.getLogger(__name__)

DURABLE = "scheduling-guest-upgrades"

APPOINTMENTS_REASSIGNED = Counter(
    "voiceassist_scheduling_appointments_reassigned",
    "Appointments moved from a guest session to the account it was upgraded to.",
)

Reassign = Callable[[str, str], Awaitable[int]]
"""Moves every appointment of the first subject to the second; returns how many."""


def guest_upgrade_consumer(
    js: JetStreamContext,
    reassign: Reassign,
    *,
    durable: str = DURABLE,
    retry_delay_seconds: float = 1.0,
) -> DurableConsumer:
    """Return the durable consumer moving guests' appointments, reading the AUTH stream."""

    async def handle(event: Event[EventPayload]) -> None:
        upgrade = event.payload
        if not isinstance(upgrade, GuestSessionUpgraded):
            return
        moved = await reassign(upgrade.guest_subject, upgrade.user_subject)
        APPOINTMENTS_REASSIGNED.inc(moved)
        # Counts only: the subjects say who the patient is.
        logger.info("guest session upgraded: %d appointment(s) moved to the account", moved)

    return DurableConsumer(
        js,
        stream=AUTH.name,
        durable=durable,
        retry_delay_seconds=retry_delay_seconds,
        filter_subject=GuestSessionUpgraded.subject,
        handler=handle,
        # Giving up would leave a patient's bookings out of their reach.
        max_deliver=100,
    )
