"""Scheduling as FHIR R4: Practitioner, Schedule, Slot and Appointment, and their search terms.

A clinic's other systems (an EHR, a regional booking portal) read VoiceAssist's doctors and
bookings through the FHIR read API; this module turns the scheduling service's gRPC messages
into FHIR resources and the FHIR search parameters into the service's filters. It does no I/O:
the routes (handlers/http/api/fhir.py) call the service and hand the messages here.

The resources are built with ``fhir.resources``, a maintained pydantic model of the FHIR
specification, so every resource and Bundle is validated as it is built: a missing required
element, a wrong type or a malformed id or instant is refused here, not by a client. The library
checks structure and datatypes, not value-set bindings or the 64-character limit of ids, which
is why ids are checked here (`is_fhir_id`) and codes come from the fixed tables below.

Which FHIR version: the gateway runs pydantic 2 (FastAPI). ``fhir.resources`` 6.4, the last
release whose default models are plain R4 (4.0.1), is written against pydantic 1 and does not
import under pydantic 2; from 7.0 the default models are R5 and R4 lives on as the ``R4B``
subpackage (4.3.0). R4B is R4 with corrections: Practitioner, Schedule, Slot, Appointment and
Bundle are unchanged between the two, so ``fhir.resources.R4B`` (pinned to 8.x in the gateway's
pyproject.toml) validates exactly the R4 documents served here.

Choices a client may notice:
- Specialties carry a SNOMED CT coding from the FHIR practice-setting value set
  (c80-practice-codes) where one is an exact match, and always a coding of VoiceAssist's own
  code system (`SPECIALTY_SYSTEM`, the lower-case proto names used across the REST API).
  Pediatrics and allergy-immunology carry only the local coding.
- Languages are BCP 47 tags (``urn:ietf:bcp:47``): en, fr, ur.
- A Schedule is a practitioner's bookable time: its id is the practitioner's id.
- A Slot's id is built from what the slot is, ``<practitioner id>.<start, UTC>.<seconds>``
  (e.g. ``6f1c…-a1b2.20261201T083000Z.1200``, at most 60 characters), and is read back into
  practitioner, start and end. The scheduling service's own slot id is opaque, may exceed the
  64 characters of a FHIR id and cannot be looked up (slots are listed by practitioner and
  window), so it travels as the Slot's identifier (`SLOT_ID_SYSTEM`): the value to book with.
  A booked period is the same Slot with status ``busy``.
- An Appointment names its patient by a logical reference (the identity provider's subject,
  `SUBJECT_SYSTEM`): this API serves no Patient resource. The patient's reason for the visit
  and a cancellation's reason are the patient's words (PHI) and never appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import unquote
from uuid import UUID

from fhir.resources.R4B.address import Address
from fhir.resources.R4B.appointment import Appointment, AppointmentParticipant
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntrySearch, BundleLink
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.practitioner import Practitioner, PractitionerQualification
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot
from google.protobuf.timestamp_pb2 import Timestamp
from voiceassist.common.v1 import clinical_pb2, language_pb2
from voiceassist.scheduling.v1 import scheduling_pb2

__all__ = [
    "BCP47",
    "FHIR_JSON",
    "PLANNING_HORIZON",
    "SLOT_ID_SYSTEM",
    "SNOMED_CT",
    "SPECIALTY_SYSTEM",
    "SUBJECT_SYSTEM",
    "DateBounds",
    "SearchParameterError",
    "SlotKey",
    "appointment_resource",
    "appointment_statuses",
    "busy_slot_resource",
    "date_bounds",
    "is_fhir_id",
    "language_of",
    "practitioner_resource",
    "reference_id",
    "schedule_resource",
    "searchset",
    "slot_fhir_id",
    "slot_key",
    "slot_resource",
    "slot_status",
    "specialty_of",
]

FHIR_JSON: Final = "application/fhir+json"
"""The media type of FHIR's JSON format."""

SNOMED_CT: Final = "http://snomed.info/sct"
BCP47: Final = "urn:ietf:bcp:47"
APPOINTMENT_REASON_V2: Final = "http://terminology.hl7.org/CodeSystem/v2-0276"
SPECIALTY_SYSTEM: Final = "urn:voiceassist:fhir:CodeSystem:specialty"
"""VoiceAssist's specialties, by the lower-case names of voiceassist.common.v1.Specialty."""
URGENCY_SYSTEM: Final = "urn:voiceassist:fhir:CodeSystem:urgency"
"""VoiceAssist's triage urgency levels, by the lower-case names of UrgencyLevel."""
SLOT_ID_SYSTEM: Final = "urn:voiceassist:scheduling:slot-id"
"""Identifier system of the scheduling service's slot ids (what a booking names)."""
SUBJECT_SYSTEM: Final = "urn:voiceassist:subject"
"""Identifier system of patients: the subject their identity provider gives them."""

PLANNING_HORIZON: Final = timedelta(days=28)
"""How far ahead a Schedule says its slots are published (the four weeks the clinic plans)."""

_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


class SearchParameterError(ValueError):
    """A search parameter whose value this API cannot use; says which, never the value."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


def is_fhir_id(text: str) -> bool:
    """Whether ``text`` is a valid FHIR id (1 to 64 letters, digits, '-' and '.')."""
    return _FHIR_ID.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class _Specialty:
    code: str
    display: str
    snomed: str | None


def _specialty(value: int, display: str, snomed: str | None) -> tuple[int, _Specialty]:
    name = clinical_pb2.Specialty.Name(value).removeprefix("SPECIALTY_").lower()  # type: ignore[arg-type]
    return value, _Specialty(name, display, snomed)


_S = clinical_pb2.Specialty
# SNOMED CT codes of the FHIR practice-setting value set (c80-practice-codes) that mean the same
# specialty; None where the value set has no exact match.
SPECIALTIES: Mapping[int, _Specialty] = dict(
    (
        _specialty(_S.SPECIALTY_GENERAL_PRACTICE, "General practice", "394814009"),
        _specialty(_S.SPECIALTY_PEDIATRICS, "Pediatrics", None),
        _specialty(_S.SPECIALTY_CARDIOLOGY, "Cardiology", "394579002"),
        _specialty(_S.SPECIALTY_PULMONOLOGY, "Pulmonology", "418112009"),
        _specialty(_S.SPECIALTY_OTOLARYNGOLOGY, "Otolaryngology", "418960008"),
        _specialty(_S.SPECIALTY_GASTROENTEROLOGY, "Gastroenterology", "394584008"),
        _specialty(_S.SPECIALTY_NEUROLOGY, "Neurology", "394591006"),
        _specialty(_S.SPECIALTY_ALLERGY_IMMUNOLOGY, "Allergy and immunology", None),
        _specialty(_S.SPECIALTY_INFECTIOUS_DISEASES, "Infectious diseases", "394807007"),
        _specialty(_S.SPECIALTY_HEMATOLOGY, "Hematology", "394803006"),
        _specialty(_S.SPECIALTY_ONCOLOGY, "Oncology", "394593009"),
        _specialty(_S.SPECIALTY_RHEUMATOLOGY, "Rheumatology", "394810000"),
        _specialty(_S.SPECIALTY_PSYCHIATRY, "Psychiatry", "394587001"),
        _specialty(_S.SPECIALTY_DERMATOLOGY, "Dermatology", "394582007"),
        _specialty(_S.SPECIALTY_OBSTETRICS_GYNECOLOGY, "Obstetrics and gynecology", "394585009"),
        _specialty(_S.SPECIALTY_UROLOGY, "Urology", "394612005"),
        _specialty(_S.SPECIALTY_ENDOCRINOLOGY, "Endocrinology", "394583002"),
        _specialty(_S.SPECIALTY_GENERAL_SURGERY, "General surgery", "394609007"),
        _specialty(_S.SPECIALTY_ORTHOPEDICS, "Orthopedics", "394801008"),
        _specialty(_S.SPECIALTY_OPHTHALMOLOGY, "Ophthalmology", "394594003"),
    )
)
"""Every specialty the scheduling service knows, with its FHIR codings."""

_L = language_pb2.Language
LANGUAGES: Mapping[int, tuple[str, str]] = {
    _L.LANGUAGE_ENGLISH: ("en", "English"),
    _L.LANGUAGE_FRENCH: ("fr", "French"),
    _L.LANGUAGE_URDU: ("ur", "Urdu"),
}
"""Consultation languages as BCP 47 tags, with their English names."""

_A = scheduling_pb2.AppointmentStatus
APPOINTMENT_STATUSES: Mapping[int, str] = {
    _A.APPOINTMENT_STATUS_BOOKED: "booked",
    _A.APPOINTMENT_STATUS_CANCELLED: "cancelled",
    _A.APPOINTMENT_STATUS_FULFILLED: "fulfilled",
    _A.APPOINTMENT_STATUS_NO_SHOW: "noshow",
}
"""Scheduling's appointment statuses as FHIR AppointmentStatus codes."""


# --- resources ---------------------------------------------------------------------------


def _instant(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def _specialty_concept(value: int) -> CodeableConcept | None:
    specialty = SPECIALTIES.get(value)
    if specialty is None:
        return None
    codings = []
    if specialty.snomed is not None:
        codings.append(Coding(system=SNOMED_CT, code=specialty.snomed))
    codings.append(Coding(system=SPECIALTY_SYSTEM, code=specialty.code, display=specialty.display))
    return CodeableConcept(coding=codings, text=specialty.display)


def _specialty_concepts(values: Iterable[int]) -> list[CodeableConcept]:
    return [concept for value in values if (concept := _specialty_concept(value)) is not None]


def _language_concept(value: int) -> CodeableConcept | None:
    if value not in LANGUAGES:
        return None
    tag, name = LANGUAGES[value]
    return CodeableConcept(coding=[Coding(system=BCP47, code=tag, display=name)], text=name)


def _practitioner_reference(practitioner_id: str, display: str = "") -> Reference:
    return Reference(reference=f"Practitioner/{practitioner_id}", display=display or None)


def practitioner_resource(
    practitioner: scheduling_pb2.Practitioner, practice: scheduling_pb2.Practice | None = None
) -> Practitioner:
    """Return a practitioner as a FHIR Practitioner: name, specialties, languages, workplace.

    Each specialty is a qualification (the main one first); the practice, when known, is the
    work address. The clinician account's e-mail and user id stay inside VoiceAssist.
    """
    addresses = None
    if practice is not None and practice.practice_id:
        addresses = [
            Address(
                use="work",
                type="physical",
                text=practice.address or None,
                city=practice.city or None,
            )
        ]
    return Practitioner(
        id=_checked_id(practitioner.practitioner_id),
        active=practitioner.active,
        name=[HumanName(use="official", text=practitioner.display_name)],
        qualification=[
            PractitionerQualification(code=concept)
            for concept in _specialty_concepts(practitioner.specialties)
        ]
        or None,
        communication=[
            concept
            for value in practitioner.languages
            if (concept := _language_concept(value)) is not None
        ]
        or None,
        address=addresses,
    )


def schedule_resource(practitioner: scheduling_pb2.Practitioner, *, now: datetime) -> Schedule:
    """Return a practitioner's bookable time as a FHIR Schedule whose id is theirs.

    Its slots are searched with ``Slot?schedule=Schedule/<id>``; the planning horizon runs
    from ``now`` for `PLANNING_HORIZON`. An inactive practitioner's schedule is inactive.
    """
    return Schedule(
        id=_checked_id(practitioner.practitioner_id),
        active=practitioner.active,
        actor=[_practitioner_reference(practitioner.practitioner_id, practitioner.display_name)],
        specialty=_specialty_concepts(practitioner.specialties) or None,
        planningHorizon=Period(start=now, end=now + PLANNING_HORIZON),
    )


@dataclass(frozen=True, slots=True)
class SlotKey:
    """What a FHIR Slot id stands for: a practitioner's period, start included, end excluded."""

    practitioner_id: str
    start: datetime
    end: datetime


_SLOT_ID = re.compile(
    r"(?P<practitioner>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"\.(?P<start>\d{8}T\d{6}Z)\.(?P<seconds>[1-9]\d{0,5})"
)
_SLOT_START = "%Y%m%dT%H%M%SZ"


def slot_fhir_id(practitioner_id: str, start: datetime, end: datetime) -> str:
    """Return the FHIR id of a practitioner's period: ``<uuid>.<start UTC>.<seconds>``.

    Raises ValueError for a period this form cannot name (a practitioner id that is not a
    UUID, a start with a fraction of a second, or a length outside 1 second to 11 days).
    """
    refused = ValueError("this period cannot be named by a FHIR Slot id")
    try:
        practitioner = UUID(practitioner_id)
    except ValueError:
        raise refused from None
    seconds = (end - start).total_seconds()
    fhir_id = f"{practitioner}.{start.astimezone(UTC).strftime(_SLOT_START)}.{int(seconds)}"
    if start.microsecond or seconds != int(seconds) or slot_key(fhir_id) is None:
        raise refused
    return fhir_id


def slot_key(fhir_id: str) -> SlotKey | None:
    """Read a FHIR Slot id back into practitioner, start and end; None if it is not one."""
    match = _SLOT_ID.fullmatch(fhir_id)
    if match is None:
        return None
    try:
        start = datetime.strptime(match["start"], _SLOT_START).replace(tzinfo=UTC)
    except ValueError:
        return None
    return SlotKey(match["practitioner"], start, start + timedelta(seconds=int(match["seconds"])))


def slot_resource(slot: scheduling_pb2.Slot) -> Slot:
    """Return a free slot as a FHIR Slot of its practitioner's Schedule.

    Its identifier holds the scheduling service's slot id, the value a booking names.
    """
    start, end = _instant(slot.start_time), _instant(slot.end_time)
    return Slot(
        id=slot_fhir_id(slot.practitioner_id, start, end),
        identifier=[Identifier(system=SLOT_ID_SYSTEM, value=slot.slot_id)],
        schedule=Reference(reference=f"Schedule/{slot.practitioner_id}"),
        status="free",
        start=start,
        end=end,
    )


def busy_slot_resource(appointment: scheduling_pb2.Appointment) -> Slot:
    """Return the period a booked appointment holds as a busy FHIR Slot, naming no patient."""
    start, end = _instant(appointment.start_time), _instant(appointment.end_time)
    return Slot(
        id=slot_fhir_id(appointment.practitioner_id, start, end),
        schedule=Reference(reference=f"Schedule/{appointment.practitioner_id}"),
        status="busy",
        start=start,
        end=end,
    )


def _appointment_type(urgency: int) -> CodeableConcept:
    if urgency == clinical_pb2.UrgencyLevel.URGENCY_LEVEL_CONSULTATION_24:
        # HL7 v2 table 0276 has no "urgent": say what triage decided, in VoiceAssist's codes.
        return CodeableConcept(
            coding=[
                Coding(
                    system=URGENCY_SYSTEM,
                    code="consultation_24",
                    display="Consultation within 24 hours",
                )
            ],
            text="Consultation within 24 hours",
        )
    return CodeableConcept(
        coding=[
            Coding(system=APPOINTMENT_REASON_V2, code="ROUTINE", display="Routine appointment")
        ],
        text="Routine appointment",
    )


def appointment_resource(
    appointment: scheduling_pb2.Appointment,
    practitioner: scheduling_pb2.Practitioner | None = None,
) -> Appointment:
    """Return an appointment as a FHIR Appointment between a practitioner and a patient.

    The patient is the logical reference of their subject. Their reason for the visit and any
    cancellation reason are left out: they are the patient's words.
    """
    start, end = _instant(appointment.start_time), _instant(appointment.end_time)
    display = practitioner.display_name if practitioner is not None else ""
    specialties = _specialty_concepts(practitioner.specialties) if practitioner else []
    status = APPOINTMENT_STATUSES.get(appointment.status)
    if status is None:
        raise ValueError("the appointment has no status")
    slot = None
    if status == "booked":
        slot_id = slot_fhir_id(appointment.practitioner_id, start, end)
        slot = [Reference(reference=f"Slot/{slot_id}")]
    return Appointment(
        id=_checked_id(appointment.appointment_id),
        meta=Meta(lastUpdated=_instant(appointment.update_time))
        if appointment.HasField("update_time")
        else None,
        status=status,
        appointmentType=_appointment_type(appointment.urgency),
        specialty=specialties[:1] or None,
        start=start,
        end=end,
        minutesDuration=max(1, round((end - start).total_seconds() / 60)),
        slot=slot,
        created=_instant(appointment.create_time) if appointment.HasField("create_time") else None,
        participant=[
            AppointmentParticipant(
                actor=_practitioner_reference(appointment.practitioner_id, display),
                required="required",
                status="accepted",
            ),
            AppointmentParticipant(
                actor=Reference(
                    type="Patient",
                    identifier=Identifier(system=SUBJECT_SYSTEM, value=appointment.patient_subject),
                ),
                required="required",
                status="accepted",
            ),
        ],
    )


def _checked_id(value: str) -> str:
    if not is_fhir_id(value):
        raise ValueError("the scheduling service returned an id that is not a FHIR id")
    return value


def searchset(
    resources: Sequence[DomainResource],
    *,
    base_url: str,
    self_url: str,
    next_url: str | None = None,
    total: int | None = None,
) -> Bundle:
    """Return a searchset Bundle of ``resources``, each with its absolute ``fullUrl``.

    ``total`` is the number of matches across all pages; when it is not given it is this
    page's count if there is no next page, and left out otherwise (FHIR forbids guessing).
    """
    if total is None and next_url is None:
        total = len(resources)
    links = [BundleLink(relation="self", url=self_url)]
    if next_url is not None:
        links.append(BundleLink(relation="next", url=next_url))
    base = base_url.rstrip("/")
    return Bundle(
        type="searchset",
        total=total,
        link=links,
        entry=[
            BundleEntry(
                fullUrl=f"{base}/{resource.get_resource_type()}/{resource.id}",
                resource=resource,
                search=BundleEntrySearch(mode="match"),
            )
            for resource in resources
        ]
        or None,
    )


# --- search parameters -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateBounds:
    """The period a set of FHIR date parameters allows: start included, end excluded."""

    start: datetime | None = None
    end: datetime | None = None


_PARTIAL_DATE = re.compile(r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?")
_DATE_PREFIX = re.compile(r"(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?(?P<value>.+)")


def _implicit_range(parameter: str, value: str) -> tuple[datetime, datetime]:
    """Return the period a FHIR date value covers (a day covers the whole UTC day)."""
    partial = _PARTIAL_DATE.fullmatch(value)
    try:
        if partial is not None:
            year = int(partial["year"])
            if partial["month"] is None:
                first = datetime(year, 1, 1, tzinfo=UTC)
                return first, first.replace(year=year + 1)
            month = int(partial["month"])
            first = datetime(year, month, int(partial["day"] or 1), tzinfo=UTC)
            if partial["day"] is not None:
                return first, first + timedelta(days=1)
            return first, (first + timedelta(days=32)).replace(day=1)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SearchParameterError(parameter, "not a FHIR date or dateTime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment, moment


def date_bounds(parameter: str, values: Sequence[str]) -> DateBounds:
    """Read FHIR date parameters (``ge2026-12-01``, ``lt2026-12-08T12:00:00Z``) into a period.

    Repeated parameters all apply (``start=ge…&start=lt…``); ``eq`` (or no prefix) keeps the
    period the value covers. Prefixes that do not bound a period (ne, sa, eb, ap) and comma
    lists are refused.
    """
    start: datetime | None = None
    end: datetime | None = None
    for raw in values:
        text = unquote(raw).strip()
        if "," in text:
            raise SearchParameterError(parameter, "a list of dates is not supported")
        match = _DATE_PREFIX.fullmatch(text)
        if match is None:
            raise SearchParameterError(parameter, "not a FHIR date or dateTime")
        prefix = match["prefix"] or "eq"
        if prefix in {"ne", "sa", "eb", "ap"}:
            raise SearchParameterError(parameter, "only the eq, ge, gt, le and lt prefixes apply")
        low, high = _implicit_range(parameter, match["value"])
        if prefix in {"eq", "ge"}:
            start = low if start is None else max(start, low)
        if prefix == "gt":
            start = high if start is None else max(start, high)
        if prefix in {"eq", "le"}:
            end = high if end is None else min(end, high)
        if prefix == "lt":
            end = low if end is None else min(end, low)
    if start is not None and end is not None and end <= start:
        raise SearchParameterError(parameter, "the bounds leave no time between them")
    return DateBounds(start, end)


def _token(value: str) -> tuple[str | None, str]:
    """Split a FHIR token into system (None when absent) and code."""
    system, bar, code = value.partition("|")
    if not bar:
        return None, value
    return system or None, code


def _single(parameter: str, values: Sequence[str]) -> str | None:
    texts = [text for value in values if (text := value.strip())]
    if not texts:
        return None
    if len(texts) > 1 or "," in texts[0]:
        raise SearchParameterError(parameter, "give one value")
    return texts[0]


def specialty_of(values: Sequence[str], parameter: str = "specialty") -> int | None:
    """Return the proto Specialty a token names: a VoiceAssist code or its SNOMED CT code."""
    value = _single(parameter, values)
    if value is None:
        return None
    system, code = _token(value)
    for proto, specialty in SPECIALTIES.items():
        if system in {None, SPECIALTY_SYSTEM} and code == specialty.code:
            return proto
        if system in {None, SNOMED_CT} and code == specialty.snomed:
            return proto
    raise SearchParameterError(parameter, "no specialty has this code")


def language_of(values: Sequence[str], parameter: str = "language") -> int | None:
    """Return the proto Language a BCP 47 token names (``fr`` or ``urn:ietf:bcp:47|fr``)."""
    value = _single(parameter, values)
    if value is None:
        return None
    system, code = _token(value)
    if system in {None, BCP47}:
        primary = code.lower().split("-")[0]
        for proto, (tag, _name) in LANGUAGES.items():
            if primary == tag:
                return proto
    raise SearchParameterError(parameter, "no consultation language has this code")


def reference_id(values: Sequence[str], resource_type: str, parameter: str) -> str | None:
    """Return the id a reference parameter names: ``<id>``, ``<Type>/<id>`` or a full URL."""
    value = _single(parameter, values)
    if value is None:
        return None
    kind, slash, last = value.rstrip("/").rpartition("/")
    if slash:
        if kind.rpartition("/")[2] != resource_type:
            raise SearchParameterError(parameter, f"the reference must be to a {resource_type}")
        value = last
    if not value:
        raise SearchParameterError(parameter, f"the reference must name a {resource_type}")
    return value


def appointment_statuses(values: Sequence[str], parameter: str = "status") -> list[int]:
    """Return the proto statuses FHIR status tokens allow: commas are "or", repeats "and"."""
    by_code = {code: proto for proto, code in APPOINTMENT_STATUSES.items()}
    allowed: set[int] | None = None
    for value in values:
        chosen: set[int] = set()
        for item in value.split(","):
            _system, code = _token(item.strip())
            if code not in by_code:
                raise SearchParameterError(parameter, "use booked, cancelled, fulfilled or noshow")
            chosen.add(by_code[code])
        allowed = chosen if allowed is None else allowed & chosen
    if allowed is not None and not allowed:
        raise SearchParameterError(parameter, "the statuses exclude each other")
    return sorted(allowed or ())


def slot_status(values: Sequence[str], parameter: str = "status") -> str:
    """Return which slots a Slot search wants, ``free`` (the default) or ``busy``."""
    value = _single(parameter, values)
    if value is None:
        return "free"
    _system, code = _token(value)
    if code not in {"free", "busy"}:
        raise SearchParameterError(parameter, "use free or busy (one of them)")
    return code
