"""Clinical vocabulary more than one service reasons with.

The urgency levels of ``voiceassist.common.v1.UrgencyLevel`` as an ordered enum: triage decides
them, scheduling offers (or refuses) bookings by them. One definition, so "more urgent" means the
same everywhere.
"""

from __future__ import annotations

from enum import IntEnum


class Urgency(IntEnum):
    """Urgency levels, ordered so that a *smaller* value is *more* urgent (as in the proto)."""

    EMERGENCY_AMBULANCE = 1
    EMERGENCY = 2
    CONSULTATION_24 = 3
    CONSULTATION = 4
    SELF_CARE = 5

    @property
    def is_emergency(self) -> bool:
        """Tell whether the level is one of the two that are never booked."""
        return self <= Urgency.EMERGENCY

    def raised_to(self, other: Urgency) -> Urgency:
        """Return the more urgent of the two: a red flag only raises the level, never lowers it."""
        return Urgency(min(self, other))
