"""Clinical vocabulary more than one service reasons with.

The urgency levels of ``voiceassist.common.v1.UrgencyLevel`` as an ordered enum: triage decides
them, scheduling offers (or refuses) bookings by them. One definition, so "more urgent" means the
same everywhere. The specialties of ``voiceassist.common.v1.Specialty`` by their lower-case
names, as the REST API, the scheduling tables and triage's knowledge base spell them.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


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


class Specialty(StrEnum):
    """voiceassist.common.v1.Specialty, by its lower-case name."""

    GENERAL_PRACTICE = "general_practice"
    PEDIATRICS = "pediatrics"
    CARDIOLOGY = "cardiology"
    PULMONOLOGY = "pulmonology"
    OTOLARYNGOLOGY = "otolaryngology"
    GASTROENTEROLOGY = "gastroenterology"
    NEUROLOGY = "neurology"
    ALLERGY_IMMUNOLOGY = "allergy_immunology"
    INFECTIOUS_DISEASES = "infectious_diseases"
    HEMATOLOGY = "hematology"
    ONCOLOGY = "oncology"
    RHEUMATOLOGY = "rheumatology"
    PSYCHIATRY = "psychiatry"
    DERMATOLOGY = "dermatology"
    OBSTETRICS_GYNECOLOGY = "obstetrics_gynecology"
    UROLOGY = "urology"
    ENDOCRINOLOGY = "endocrinology"
    GENERAL_SURGERY = "general_surgery"
    ORTHOPEDICS = "orthopedics"
    OPHTHALMOLOGY = "ophthalmology"
