"""Identity events: a guest session became part of an account.

A patient who only wanted triage may start as a guest and sign up or in later, keeping what
they did as a guest. The auth service decides that the guest and the account are the same
person (it holds proof of both sessions); each service that keeps records under the guest's
subject (triage's assessments, scheduling's bookings) moves them to the account when it reads
this event. The event carries the two OIDC subjects and the time, nothing else.
"""

from __future__ import annotations

import re

from pydantic import AwareDatetime, Field, field_validator

from voiceassist_common.events.envelope import EventPayload, OpaqueId

GUEST_SUBJECT = re.compile(r"^guest-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
"""The subject the built-in provider gives guests (``guest-<uuid4>``)."""


class GuestSessionUpgraded(EventPayload):
    """A guest signed up or in; their records now belong to the account."""

    subject = "auth.guest.upgraded"
    publisher = "auth"
    consumers = ("triage",)

    guest_subject: OpaqueId = Field(description="OIDC subject of the guest session (guest-<uuid>)")
    user_subject: OpaqueId = Field(description="OIDC subject of the account that now owns them")
    upgraded_at: AwareDatetime = Field(description="when the auth service joined the two")

    @field_validator("guest_subject")
    @classmethod
    def _is_a_guest(cls, value: str) -> str:
        # A consumer moves every record of guest_subject: a real account's subject here would
        # hand one patient's records to another.
        if not GUEST_SUBJECT.fullmatch(value):
            raise ValueError("guest_subject must be a guest session's subject (guest-<uuid>)")
        return value

    @field_validator("user_subject")
    @classmethod
    def _is_an_account(cls, value: str) -> str:
        if value.startswith("guest-"):
            raise ValueError("user_subject must be an account, not another guest")
        return value
