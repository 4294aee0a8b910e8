"""The guest-upgrade event only ever moves a guest's records to an account."""

from datetime import UTC, datetime

import pytest
from voiceassist_common.events import EventParseError, GuestSessionUpgraded, new_event, parse_event

GUEST = "guest-0b7d6f8e-3c1a-4e55-9a52-2f6f3f1d9c10"
ACCOUNT = "3f1d9c10-0b7d-4e55-9a52-2f6f0b7d6f8e"
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_an_upgrade_round_trips_through_the_wire() -> None:
    event = new_event(
        GuestSessionUpgraded(guest_subject=GUEST, user_subject=ACCOUNT, upgraded_at=NOW),
        source="auth",
    )

    parsed = parse_event(event.to_json(), subject="auth.guest.upgraded")

    assert isinstance(parsed.payload, GuestSessionUpgraded)
    assert (parsed.payload.guest_subject, parsed.payload.user_subject) == (GUEST, ACCOUNT)


@pytest.mark.parametrize(
    ("guest", "account"),
    [
        (ACCOUNT, ACCOUNT),  # an account's records must never be moved as if a guest's
        ("guest-not-a-uuid", ACCOUNT),
        (GUEST, "guest-5e3c1a4e-0b7d-4e55-9a52-2f6f3f1d9c10"),  # a guest is not an account
    ],
)
def test_only_a_guest_goes_to_an_account(guest: str, account: str) -> None:
    document = new_event(
        GuestSessionUpgraded.model_construct(
            guest_subject=guest, user_subject=account, upgraded_at=NOW
        ),
        source="auth",
    ).to_json()

    with pytest.raises(EventParseError) as refused:
        parse_event(document, subject="auth.guest.upgraded")

    # The refusal names the field, never the subject it carried.
    assert guest not in str(refused.value)
    assert account not in str(refused.value)
