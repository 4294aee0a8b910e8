"""NATS entry point of the triage service: a guest's assessments follow them into their account.

A patient may run triage as a guest and sign up or in afterwards; the auth service then
publishes ``auth.guest.upgraded`` with the guest's and the account's subjects. The durable
consumer ``triage-guest-upgrades`` reads it from the AUTH stream and records every assessment of
the guest as the account's, so the account reads them (and the guest token, whose subject no
longer owns them, does not). Delivery is at least once; moving what is already moved moves
nothing, so redelivery is harmless. A database outage raises, and the event comes back later.
"""

from __future__ import annotations

import logging
from typing import Protocol

from nats.js import JetStreamContext
from prometheus_client import Counter
from voiceassist_common.events import Event, EventPayload, GuestSessionUpgraded
from voiceassist_common.messaging import AUTH, DurableConsumer

__all__ = [
    "ASSESSMENTS_REASSIGNED",
    "DURABLE",
    "GuestUpgrades",
    "PatientReassignment",
    "guest_upgrade_consumer",
]

logger = logging.getLogger(__name__)

DURABLE = "triage-guest-upgrades"
SUBJECT = GuestSessionUpgraded.subject

ASSESSMENTS_REASSIGNED = Counter(
    "voiceassist_triage_assessments_reassigned",
    "Assessments moved from a guest session to the account it was upgraded to.",
)


class PatientReassignment(Protocol):
    """Where the assessments are: the repository (`AssessmentRepository.reassign_patient`)."""

    async def reassign_patient(self, from_subject: str, to_subject: str) -> int:
        """Move every assessment of ``from_subject`` to ``to_subject``; return how many."""
        ...


class GuestUpgrades:
    """Handles one delivered ``auth.guest.upgraded`` by moving the guest's assessments."""

    def __init__(self, assessments: PatientReassignment) -> None:
        self._assessments = assessments

    async def __call__(self, event: Event[EventPayload]) -> None:
        """Move the assessments; other payloads cannot arrive (the consumer filters by subject)."""
        upgrade = event.payload
        if not isinstance(upgrade, GuestSessionUpgraded):
            return
        moved = await self._assessments.reassign_patient(
            upgrade.guest_subject, upgrade.user_subject
        )
        ASSESSMENTS_REASSIGNED.inc(moved)
        # Counts only: the subjects say who the patient is.
        logger.info("guest session upgraded: %d assessment(s) moved to the account", moved)


def guest_upgrade_consumer(
    js: JetStreamContext,
    assessments: PatientReassignment,
    *,
    durable: str = DURABLE,
    retry_delay_seconds: float = 1.0,
) -> DurableConsumer:
    """Return the durable consumer that moves guests' assessments, reading the AUTH stream."""
    return DurableConsumer(
        js,
        stream=AUTH.name,
        durable=durable,
        retry_delay_seconds=retry_delay_seconds,
        filter_subject=SUBJECT,
        handler=GuestUpgrades(assessments),
        # Giving up would leave a patient's assessments out of their reach: retry through a
        # long database outage (the delay doubles up to a minute).
        max_deliver=100,
    )
