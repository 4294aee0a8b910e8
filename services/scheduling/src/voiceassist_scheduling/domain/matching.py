"""Match a triaged patient to practitioners: who may see them, when, and in what order.

Rules by urgency (voiceassist.common.v1.UrgencyLevel):
- EMERGENCY_AMBULANCE and EMERGENCY: never offered a booking; the advice is to call emergency
  services now. A booking must never delay an ambulance.
- CONSULTATION_24: only slots starting within 24 hours of now (the preferred window narrowed to
  them); when none is free the outcome says so and the advice suggests urgent care, so the
  patient is not left with a booking days away (NHS 111: "see a GP within 24 hours").
- CONSULTATION and SELF_CARE: the preferred window, or the next four weeks.

Practitioners of the requested specialty come first; general practitioners are offered after
them (they are everyone's first point of contact), and alone when no specialist is active.
Ranking within that: specialty fit, the patient's language, the requested city (or distance to
the requested coordinates), then the earliest slot.

A practice farther than `MAX_TRAVEL_KM` from the requested place is never offered: a clinic in
another country is no use to the patient, however early its slot. The place is the patient's
coordinates, or the practices of the requested city (the city's location is where we see
patients there); a city we have no practice in does not narrow anything.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from voiceassist_scheduling.domain.model import (
    Practice,
    Practitioner,
    Slot,
    Specialty,
    UrgencyLevel,
)

__all__ = [
    "DEFAULT_HORIZON",
    "MAX_TRAVEL_KM",
    "URGENT_HORIZON",
    "Candidate",
    "MatchOutcome",
    "MatchQuery",
    "MatchResult",
    "RankedPractitioner",
    "advice",
    "allowed_window",
    "distance_km",
    "match",
    "same_city",
]

URGENT_HORIZON = timedelta(hours=24)
"""CONSULTATION_24 patients are offered only slots starting this soon."""
DEFAULT_HORIZON = timedelta(days=28)
MAX_TRAVEL_KM = 500.0
"""Farthest a practice may be from the requested place to be offered (Paris-Lyon is 400 km)."""
"""How far ahead non-urgent patients are offered slots when they name no window."""

# Weights of the ranking score (sum 1): what the patient needs first, then comfort, then time.
_SPECIALTY_WEIGHT = 0.4
_LANGUAGE_WEIGHT = 0.2
_PLACE_WEIGHT = 0.2
_EARLINESS_WEIGHT = 0.2
# A general practitioner stands in for a missing specialist, but ranks below any specialist.
_MAIN_SPECIALTY_FIT = 1.0
_OTHER_SPECIALTY_FIT = 0.8
_GENERAL_PRACTICE_FIT = 0.4


class MatchOutcome(Enum):
    """voiceassist.scheduling.v1.MatchOutcome."""

    MATCHED = 1
    NO_SLOTS_IN_WINDOW = 2
    NO_PRACTITIONERS = 3
    NOT_BOOKABLE = 4


@dataclass(frozen=True)
class MatchQuery:
    """What the patient needs and prefers; ``specialty`` None means general practice."""

    urgency: UrgencyLevel
    now: datetime
    specialty: Specialty | None = None
    language: str = ""
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None
    preferred_start: datetime | None = None
    preferred_end: datetime | None = None
    max_practitioners: int = 3
    slots_per_practitioner: int = 3


@dataclass(frozen=True)
class Candidate:
    """An active practitioner with their practice and free slots in the allowed window."""

    practitioner: Practitioner
    practice: Practice
    slots: Sequence[Slot]


@dataclass(frozen=True)
class RankedPractitioner:
    """A practitioner offered to the patient, best first, with their earliest slots."""

    practitioner: Practitioner
    practice: Practice
    earliest_slots: tuple[Slot, ...]
    score: float
    distance_km: float | None


@dataclass(frozen=True)
class MatchResult:
    """What came of a match; ``matches`` is empty unless MATCHED."""

    outcome: MatchOutcome
    matches: tuple[RankedPractitioner, ...] = ()


def allowed_window(query: MatchQuery) -> tuple[datetime, datetime] | None:
    """Return the window slots may be offered in, or None for emergencies (never booked)."""
    if query.urgency.is_emergency:
        return None
    start = max(query.now, query.preferred_start or query.now)
    if query.urgency == UrgencyLevel.CONSULTATION_24:
        limit = query.now + URGENT_HORIZON
        end = min(limit, query.preferred_end or limit)
        if end <= start:
            # A preference outside the next 24 hours cannot delay an urgent consultation.
            return query.now, limit
        return start, end
    end = query.preferred_end or start + DEFAULT_HORIZON
    return start, max(start, end)


def same_city(first: str, second: str) -> bool:
    """Compare city names case- and accent-insensitively ("Montréal" is "montreal")."""

    def fold(name: str) -> str:
        plain = unicodedata.normalize("NFKD", name)
        return "".join(c for c in plain if not unicodedata.combining(c)).casefold().strip()

    return fold(first) == fold(second)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean earth radius 6371 km)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _specialty_fit(practitioner: Practitioner, wanted: Specialty) -> float:
    if practitioner.specialties[0] == wanted:
        return _MAIN_SPECIALTY_FIT
    if wanted in practitioner.specialties:
        return _OTHER_SPECIALTY_FIT
    if Specialty.GENERAL_PRACTICE in practitioner.specialties:
        return _GENERAL_PRACTICE_FIT
    return 0.0


def _place(query: MatchQuery, practice: Practice) -> tuple[float, float | None]:
    """Return (place score 0..1, distance in km when both coordinates are known)."""
    if (
        query.latitude is not None
        and query.longitude is not None
        and practice.latitude is not None
        and practice.longitude is not None
    ):
        km = distance_km(query.latitude, query.longitude, practice.latitude, practice.longitude)
        # Half score at 20 km: a patient will cross a city, rarely a region.
        return 1.0 / (1.0 + km / 20.0), km
    if query.city:
        return (1.0 if same_city(query.city, practice.city) else 0.0), None
    return 1.0, None


def _anchor(query: MatchQuery, candidates: Sequence[Candidate]) -> tuple[float, float] | None:
    """Return where the patient wants to be seen, when we can place it on the map."""
    if query.latitude is not None and query.longitude is not None:
        return query.latitude, query.longitude
    if query.city:
        for candidate in candidates:
            practice = candidate.practice
            if (
                same_city(query.city, practice.city)
                and practice.latitude is not None
                and practice.longitude is not None
            ):
                return practice.latitude, practice.longitude
    return None


def _within_reach(anchor: tuple[float, float], practice: Practice) -> bool:
    """Whether ``practice`` is near enough to ``anchor`` (one without coordinates is kept)."""
    if practice.latitude is None or practice.longitude is None:
        return True
    return distance_km(*anchor, practice.latitude, practice.longitude) <= MAX_TRAVEL_KM


def match(query: MatchQuery, candidates: Sequence[Candidate]) -> MatchResult:
    """Rank ``candidates`` for ``query`` by the rules of this module.

    Candidates' slots must already be the free ones; those outside the allowed window are
    ignored here, so the urgency rule holds whatever the caller passed.
    """
    window = allowed_window(query)
    if window is None:
        return MatchResult(MatchOutcome.NOT_BOOKABLE)
    wanted = query.specialty or Specialty.GENERAL_PRACTICE
    eligible = [
        c
        for c in candidates
        if c.practitioner.active and _specialty_fit(c.practitioner, wanted) > 0.0
    ]
    anchor = _anchor(query, eligible)
    if anchor is not None:
        eligible = [c for c in eligible if _within_reach(anchor, c.practice)]
    if not eligible:
        return MatchResult(MatchOutcome.NO_PRACTITIONERS)
    start, end = window
    span = max((end - start).total_seconds(), 1.0)
    ranked: list[tuple[float, datetime, str, RankedPractitioner]] = []
    for candidate in eligible:
        slots = sorted(
            (s for s in candidate.slots if s.start >= start and s.end <= end),
            key=lambda s: s.start,
        )
        if not slots:
            continue
        fit = _specialty_fit(candidate.practitioner, wanted)
        speaks = not query.language or query.language in candidate.practitioner.languages
        place, km = _place(query, candidate.practice)
        earliness = 1.0 - (slots[0].start - start).total_seconds() / span
        score = (
            _SPECIALTY_WEIGHT * fit
            + _LANGUAGE_WEIGHT * (1.0 if speaks else 0.0)
            + _PLACE_WEIGHT * place
            + _EARLINESS_WEIGHT * max(0.0, earliness)
        )
        offered = RankedPractitioner(
            practitioner=candidate.practitioner,
            practice=candidate.practice,
            earliest_slots=tuple(slots[: max(1, query.slots_per_practitioner)]),
            score=round(score, 6),
            distance_km=km,
        )
        ranked.append((score, slots[0].start, candidate.practitioner.display_name, offered))
    if not ranked:
        return MatchResult(MatchOutcome.NO_SLOTS_IN_WINDOW)
    ranked.sort(key=lambda item: (-item[0], item[1], item[2]))
    best = tuple(item[3] for item in ranked[: max(1, query.max_practitioners)])
    return MatchResult(MatchOutcome.MATCHED, best)


_ADVICE = {
    MatchOutcome.NOT_BOOKABLE: {
        "en": "This needs emergency care now: call your local emergency number. Do not wait "
        "for an appointment.",
        "fr": "Cela nécessite des soins d'urgence maintenant : appelez le numéro d'urgence "
        "(15 ou 112). N'attendez pas de rendez-vous.",
    },
    MatchOutcome.NO_SLOTS_IN_WINDOW: {
        "en": "No doctor has a free appointment in time. Please go to an urgent care centre "
        "or call your local out-of-hours medical line today.",
        "fr": "Aucun médecin n'a de rendez-vous libre à temps. Rendez-vous aujourd'hui dans un "
        "centre de soins non programmés ou appelez la permanence des soins.",
    },
    MatchOutcome.NO_PRACTITIONERS: {
        "en": "No matching doctor is available here. Please contact your family doctor.",
        "fr": "Aucun médecin correspondant n'est disponible ici. Contactez votre médecin traitant.",
    },
}


def advice(result: MatchResult, query: MatchQuery, language: str = "en") -> str:
    """Say what to do when nothing is offered; empty when matched.

    Non-urgent patients with no slot in their window are told to try another window, not sent
    to urgent care. Languages without a text yet fall back to English.
    """
    if result.outcome == MatchOutcome.MATCHED:
        return ""
    if (
        result.outcome == MatchOutcome.NO_SLOTS_IN_WINDOW
        and query.urgency != UrgencyLevel.CONSULTATION_24
    ):
        return {
            "en": "No free appointment in that window. Please try another time.",
            "fr": "Aucun rendez-vous libre sur cette période. Essayez un autre moment.",
        }.get(language, "No free appointment in that window. Please try another time.")
    texts = _ADVICE[result.outcome]
    return texts.get(language, texts["en"])
