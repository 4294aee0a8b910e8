"""Matching offers the right doctor at an allowed time, and never books an emergency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from voiceassist_scheduling.domain.matching import (
    Candidate,
    MatchOutcome,
    MatchQuery,
    advice,
    allowed_window,
    match,
)
from voiceassist_scheduling.domain.model import (
    Practice,
    Practitioner,
    Slot,
    Specialty,
    UrgencyLevel,
)

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
PARIS = Practice(
    uuid4(), "Cabinet Bastille", "Paris", "Europe/Paris", latitude=48.853, longitude=2.369
)
LYON = Practice(
    uuid4(), "Cabinet Bellecour", "Lyon", "Europe/Paris", latitude=45.758, longitude=4.832
)


def doctor(
    name: str,
    *specialties: Specialty,
    languages: tuple[str, ...] = ("fr",),
    practice: Practice = PARIS,
) -> Practitioner:
    return Practitioner(uuid4(), name, specialties, languages, practice.id)


def candidate(
    practitioner: Practitioner, *hours_from_now: float, practice: Practice = PARIS
) -> Candidate:
    slots = [
        Slot(
            practitioner.id,
            NOW + timedelta(hours=h),
            NOW + timedelta(hours=h, minutes=30),
            practice.timezone,
        )
        for h in hours_from_now
    ]
    return Candidate(practitioner, practice, slots)


def test_emergencies_are_never_offered_a_booking() -> None:
    cardiologist = candidate(doctor("Dr Martin", Specialty.CARDIOLOGY), 1)
    for level in (UrgencyLevel.EMERGENCY_AMBULANCE, UrgencyLevel.EMERGENCY):
        query = MatchQuery(urgency=level, now=NOW, specialty=Specialty.CARDIOLOGY)
        result = match(query, [cardiologist])

        assert result.outcome == MatchOutcome.NOT_BOOKABLE
        assert result.matches == ()
        assert "emergency" in advice(result, query)


def test_within_24_hours_only_slots_in_the_next_day_are_offered() -> None:
    gp = candidate(doctor("Dr Durand", Specialty.GENERAL_PRACTICE), 3, 23.5, 30)
    query = MatchQuery(urgency=UrgencyLevel.CONSULTATION_24, now=NOW)

    result = match(query, [gp])

    assert result.outcome == MatchOutcome.MATCHED
    assert [s.start - NOW for s in result.matches[0].earliest_slots] == [
        timedelta(hours=3),
        timedelta(hours=23.5),
    ]


def test_within_24_hours_with_nothing_free_says_so_and_suggests_urgent_care() -> None:
    gp = candidate(doctor("Dr Durand", Specialty.GENERAL_PRACTICE), 30, 50)
    query = MatchQuery(urgency=UrgencyLevel.CONSULTATION_24, now=NOW)

    result = match(query, [gp])

    assert result.outcome == MatchOutcome.NO_SLOTS_IN_WINDOW
    assert "urgent care" in advice(result, query)
    assert "soins non programmés" in advice(result, query, "fr")


def test_a_preferred_window_days_away_cannot_delay_an_urgent_consultation() -> None:
    query = MatchQuery(
        urgency=UrgencyLevel.CONSULTATION_24,
        now=NOW,
        preferred_start=NOW + timedelta(days=5),
        preferred_end=NOW + timedelta(days=6),
    )

    assert allowed_window(query) == (NOW, NOW + timedelta(hours=24))


def test_routine_consultations_use_the_patients_window() -> None:
    gp = candidate(doctor("Dr Durand", Specialty.GENERAL_PRACTICE), 2, 74, 100)
    query = MatchQuery(
        urgency=UrgencyLevel.CONSULTATION,
        now=NOW,
        preferred_start=NOW + timedelta(days=3),
        preferred_end=NOW + timedelta(days=4),
    )

    result = match(query, [gp])

    assert [s.start - NOW for s in result.matches[0].earliest_slots] == [timedelta(hours=74)]


def test_the_specialist_ranks_before_the_general_practitioner_who_stands_in() -> None:
    gp = candidate(doctor("Dr Durand", Specialty.GENERAL_PRACTICE), 1)
    cardiologist = candidate(doctor("Dr Martin", Specialty.CARDIOLOGY), 48)
    dermatologist = candidate(doctor("Dr Petit", Specialty.DERMATOLOGY), 1)
    query = MatchQuery(urgency=UrgencyLevel.CONSULTATION, now=NOW, specialty=Specialty.CARDIOLOGY)

    result = match(query, [gp, cardiologist, dermatologist])

    assert [m.practitioner.display_name for m in result.matches] == ["Dr Martin", "Dr Durand"]


def test_language_and_city_break_ties_between_equal_specialists() -> None:
    french_in_lyon = candidate(
        doctor("Dr Bernard", Specialty.PULMONOLOGY, practice=LYON), 5, practice=LYON
    )
    urdu_in_paris = candidate(doctor("Dr Khan", Specialty.PULMONOLOGY, languages=("en", "ur")), 5)
    french_in_paris = candidate(doctor("Dr Moreau", Specialty.PULMONOLOGY), 5)
    query = MatchQuery(
        urgency=UrgencyLevel.CONSULTATION,
        now=NOW,
        specialty=Specialty.PULMONOLOGY,
        language="ur",
        city="paris",
    )

    result = match(query, [french_in_lyon, french_in_paris, urdu_in_paris])

    assert [m.practitioner.display_name for m in result.matches] == [
        "Dr Khan",
        "Dr Moreau",
        "Dr Bernard",
    ]


def test_the_earliest_slot_wins_when_all_else_is_equal() -> None:
    later = candidate(doctor("Dr Adam", Specialty.NEUROLOGY), 50)
    sooner = candidate(doctor("Dr Zola", Specialty.NEUROLOGY), 2)
    query = MatchQuery(urgency=UrgencyLevel.CONSULTATION, now=NOW, specialty=Specialty.NEUROLOGY)

    result = match(query, [later, sooner])

    assert [m.practitioner.display_name for m in result.matches] == ["Dr Zola", "Dr Adam"]


def test_coordinates_rank_the_nearer_practice_first() -> None:
    in_lyon = candidate(
        doctor("Dr Bernard", Specialty.GENERAL_PRACTICE, practice=LYON), 5, practice=LYON
    )
    in_paris = candidate(doctor("Dr Moreau", Specialty.GENERAL_PRACTICE), 5)
    query = MatchQuery(urgency=UrgencyLevel.SELF_CARE, now=NOW, latitude=45.76, longitude=4.84)

    result = match(query, [in_paris, in_lyon])

    assert result.matches[0].practitioner.display_name == "Dr Bernard"
    assert result.matches[0].distance_km is not None
    assert result.matches[0].distance_km < 2


def test_no_active_practitioner_of_the_specialty_or_general_practice() -> None:
    inactive = Practitioner(
        uuid4(), "Dr Roux", (Specialty.CARDIOLOGY,), ("fr",), PARIS.id, active=False
    )
    query = MatchQuery(urgency=UrgencyLevel.CONSULTATION, now=NOW, specialty=Specialty.CARDIOLOGY)

    result = match(query, [Candidate(inactive, PARIS, [])])

    assert result.outcome == MatchOutcome.NO_PRACTITIONERS


def test_a_practice_in_another_country_is_never_offered() -> None:
    montreal = Practice(
        uuid4(),
        "Clinique du Plateau",
        "Montréal",
        "America/Toronto",
        latitude=45.52,
        longitude=-73.58,
    )
    far_but_soon = candidate(
        doctor("Dr Dubois", Specialty.CARDIOLOGY, practice=montreal), 1, practice=montreal
    )
    in_paris = candidate(doctor("Dr Lefèvre", Specialty.CARDIOLOGY), 20)
    cardiology = {
        "urgency": UrgencyLevel.CONSULTATION,
        "now": NOW,
        "specialty": Specialty.CARDIOLOGY,
    }
    by_city = MatchQuery(**cardiology, city="Paris")  # type: ignore[arg-type]
    by_place = MatchQuery(**cardiology, latitude=48.86, longitude=2.35)  # type: ignore[arg-type]
    for query in (by_city, by_place):
        result = match(query, [far_but_soon, in_paris])
        assert [m.practitioner.display_name for m in result.matches] == ["Dr Lefèvre"]
