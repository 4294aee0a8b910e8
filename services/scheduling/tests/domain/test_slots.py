"""Free slots follow the practice wall clock across daylight-saving changes and skip busy time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from voiceassist_scheduling.domain.model import AvailabilityRule
from voiceassist_scheduling.domain.slots import free_slots

DOCTOR = uuid4()


def mornings(weekday: int) -> AvailabilityRule:
    return AvailabilityRule(weekday, time(9), time(10), "consultation", 30)


def local_starts(
    timezone: str, rules: list[AvailabilityRule], start: datetime, days: int
) -> list[str]:
    slots = free_slots(
        practitioner_id=DOCTOR,
        rules=rules,
        timezone=timezone,
        window_start=start,
        window_end=start + timedelta(days=days),
    )
    return [f"{s.start.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M}" for s in slots]


def test_a_paris_nine_oclock_slot_stays_nine_oclock_across_the_spring_change() -> None:
    # Europe/Paris moves from UTC+1 to UTC+2 on Sunday 29 March 2026.
    rules = [mornings(6), mornings(1)]  # Saturday and Monday
    starts = local_starts("Europe/Paris", rules, datetime(2026, 3, 27, tzinfo=UTC), 4)

    assert starts == [
        "2026-03-28 09:00",
        "2026-03-28 09:30",
        "2026-03-30 09:00",
        "2026-03-30 09:30",
    ]
    slots = free_slots(
        practitioner_id=DOCTOR,
        rules=rules,
        timezone="Europe/Paris",
        window_start=datetime(2026, 3, 27, tzinfo=UTC),
        window_end=datetime(2026, 3, 31, tzinfo=UTC),
    )
    assert slots[0].start == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    assert slots[2].start == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_a_toronto_nine_oclock_slot_stays_nine_oclock_across_the_autumn_change() -> None:
    # America/Toronto moves from UTC-4 to UTC-5 on Sunday 1 November 2026.
    rules = [mornings(6), mornings(1)]
    slots = free_slots(
        practitioner_id=DOCTOR,
        rules=rules,
        timezone="America/Toronto",
        window_start=datetime(2026, 10, 30, tzinfo=UTC),
        window_end=datetime(2026, 11, 3, tzinfo=UTC),
    )

    local = [f"{s.start.astimezone(ZoneInfo('America/Toronto')):%a %H:%M}" for s in slots]
    assert local == ["Sat 09:00", "Sat 09:30", "Mon 09:00", "Mon 09:30"]
    assert slots[0].start == datetime(2026, 10, 31, 13, 0, tzinfo=UTC)
    assert slots[2].start == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert all(s.duration == timedelta(minutes=30) for s in slots)


def test_a_slot_in_the_hour_that_does_not_exist_is_not_offered() -> None:
    # 02:00-03:00 does not happen in Paris on 29 March 2026.
    night = AvailabilityRule(7, time(1, 30), time(3, 30), "consultation", 30)
    starts = local_starts("Europe/Paris", [night], datetime(2026, 3, 28, tzinfo=UTC), 2)

    assert starts == ["2026-03-29 01:30", "2026-03-29 03:00"]


def test_booked_and_blocked_periods_remove_exactly_their_slots() -> None:
    monday = datetime(2026, 12, 7, tzinfo=UTC)  # Europe/London is UTC in December
    rule = AvailabilityRule(1, time(9), time(11), "consultation", 30)
    booked = (monday.replace(hour=9, minute=30), monday.replace(hour=10))
    leave = (monday.replace(hour=10, minute=15), monday.replace(hour=10, minute=45))

    slots = free_slots(
        practitioner_id=DOCTOR,
        rules=[rule],
        timezone="Europe/London",
        window_start=monday,
        window_end=monday + timedelta(days=1),
        busy=[booked, leave],
    )

    assert [f"{s.start:%H:%M}" for s in slots] == ["09:00"]


def test_only_slots_wholly_inside_the_window_are_offered() -> None:
    monday = datetime(2026, 12, 7, tzinfo=UTC)
    rule = AvailabilityRule(1, time(9), time(11), "consultation", 30)

    slots = free_slots(
        practitioner_id=DOCTOR,
        rules=[rule],
        timezone="Europe/London",
        window_start=monday.replace(hour=9, minute=10),
        window_end=monday.replace(hour=10, minute=45),
    )

    assert [f"{s.start:%H:%M}" for s in slots] == ["09:30", "10:00"]
