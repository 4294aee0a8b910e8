"""Derive free slots: weekly availability, minus exceptions, minus booked appointments.

Rules are wall-clock times in the practice's timezone, so a 09:00 rule means 09:00 local on both
sides of a daylight-saving change, and the UTC instant moves instead. A rule's local time that
does not exist on a spring-forward night is skipped; an ambiguous one on the autumn night means
its first occurrence. Slots come back in UTC, soonest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from voiceassist_scheduling.domain.model import AvailabilityRule, Slot

__all__ = ["Busy", "free_slots", "local_slot_starts"]

Busy = tuple[datetime, datetime]
"""A period (UTC, end excluded) during which no slot may be offered."""


def _exists(local: datetime, zone: ZoneInfo) -> bool:
    """Whether a wall-clock time happens at all (not inside a spring-forward gap)."""
    round_trip = local.astimezone(UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def local_slot_starts(rule: AvailabilityRule, day: date, zone: ZoneInfo) -> list[datetime]:
    """Return the aware local starts of ``rule``'s slots on ``day`` (its weekday or nothing)."""
    if day.isoweekday() != rule.weekday:
        return []
    step = timedelta(minutes=rule.slot_minutes)
    starts = []
    # Walk wall-clock time on a naive datetime: the slot grid is local, whatever the offset.
    cursor = datetime.combine(day, rule.start_time)
    last = datetime.combine(day, rule.end_time) - step
    while cursor <= last:
        local = cursor.replace(tzinfo=zone, fold=0)
        if _exists(local, zone):
            starts.append(local)
        cursor += step
    return starts


def _overlaps(start: datetime, end: datetime, busy: Sequence[Busy]) -> bool:
    return any(start < busy_end and busy_start < end for busy_start, busy_end in busy)


def free_slots(
    *,
    practitioner_id: UUID,
    rules: Iterable[AvailabilityRule],
    timezone: str,
    window_start: datetime,
    window_end: datetime,
    busy: Iterable[Busy] = (),
) -> list[Slot]:
    """List the free slots wholly inside [window_start, window_end), soonest first.

    ``busy`` holds the exceptions and booked appointments; a slot touching any of them is not
    offered. Instants must be aware; they are compared in UTC.
    """
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise ValueError("window bounds must be timezone-aware")
    zone = ZoneInfo(timezone)
    blocked = sorted(busy)
    rules = list(rules)
    # One local day of margin each side: the window is in UTC, the rules in local days.
    first_day = window_start.astimezone(zone).date() - timedelta(days=1)
    last_day = window_end.astimezone(zone).date() + timedelta(days=1)
    slots: list[Slot] = []
    day = first_day
    while day <= last_day:
        for rule in rules:
            for local in local_slot_starts(rule, day, zone):
                start = local.astimezone(UTC)
                # A consultation lasts its real minutes, even across an offset change.
                end = start + timedelta(minutes=rule.slot_minutes)
                if start < window_start or end > window_end:
                    continue
                if _overlaps(start, end, blocked):
                    continue
                slots.append(Slot(practitioner_id, start, end, timezone))
        day += timedelta(days=1)
    slots.sort(key=lambda slot: slot.start)
    return slots
