"""Scheduling as FHIR R4: every resource parses back with the FHIR models and says what it should.

What an EHR reading the API would notice: a cardiologist is coded in SNOMED CT, a slot's id is
a valid FHIR id however long the scheduling service's slot id is, and a booking never carries
the patient's reason for the visit.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot
from google.protobuf.timestamp_pb2 import Timestamp
from voiceassist.common.v1 import clinical_pb2, language_pb2
from voiceassist.scheduling.v1 import scheduling_pb2 as pb
from voiceassist_gateway.domain import fhir

DOCTOR_ID = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
PRACTICE_ID = "0b7e6c1a-2d3f-4e5a-9b8c-7d6e5f4a3b2c"
NINE = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday 09:00 in Paris
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
REASON = "Chest pain since my divorce"


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def a_doctor(**changes: Any) -> pb.Practitioner:
    fields: dict[str, Any] = {
        "practitioner_id": DOCTOR_ID,
        "display_name": "Dr Hugo Lefèvre",
        "specialties": [
            clinical_pb2.Specialty.SPECIALTY_CARDIOLOGY,
            clinical_pb2.Specialty.SPECIALTY_GENERAL_PRACTICE,
        ],
        "languages": [
            language_pb2.Language.LANGUAGE_FRENCH,
            language_pb2.Language.LANGUAGE_ENGLISH,
        ],
        "practice_id": PRACTICE_ID,
        "active": True,
        "user_id": "clinician-7",
        "email": "hugo.lefevre@bastille.example",
    }
    fields.update(changes)
    return pb.Practitioner(**fields)


BASTILLE = pb.Practice(
    practice_id=PRACTICE_ID,
    name="Cabinet médical Bastille",
    address="12 rue de la Roquette, 75011 Paris",
    city="Paris",
    timezone="Europe/Paris",
)


def an_appointment(**changes: Any) -> pb.Appointment:
    fields: dict[str, Any] = {
        "appointment_id": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
        "patient_subject": "b1c2d3e4-0000-4000-8000-000000000001",
        "practitioner_id": DOCTOR_ID,
        "start_time": stamp(NINE),
        "end_time": stamp(NINE + timedelta(minutes=30)),
        "timezone": "Europe/Paris",
        "status": pb.AppointmentStatus.APPOINTMENT_STATUS_BOOKED,
        "reason": REASON,
        "urgency": clinical_pb2.UrgencyLevel.URGENCY_LEVEL_CONSULTATION,
        "create_time": stamp(NOW),
        "update_time": stamp(NOW + timedelta(minutes=5)),
        "cancellation_reason": "",
    }
    fields.update(changes)
    return pb.Appointment(**fields)


def round_trip(resource: Any, model: Any) -> dict[str, Any]:
    """Serialize as the API does, parse back with the FHIR model, and return the JSON."""
    text = resource.model_dump_json()
    document: dict[str, Any] = json.loads(text)
    parsed = model.model_validate(document)
    assert json.loads(parsed.model_dump_json()) == document
    assert fhir.is_fhir_id(document["id"])
    return document


def codes(concept: dict[str, Any]) -> dict[str, str]:
    return {coding["system"]: coding["code"] for coding in concept["coding"]}


def test_a_practitioner_carries_coded_specialties_languages_and_workplace() -> None:
    document = round_trip(fhir.practitioner_resource(a_doctor(), BASTILLE), Practitioner)

    assert document["resourceType"] == "Practitioner"
    assert document["id"] == DOCTOR_ID
    assert document["active"] is True
    assert document["name"] == [{"use": "official", "text": "Dr Hugo Lefèvre"}]
    main, second = (item["code"] for item in document["qualification"])
    assert codes(main) == {fhir.SNOMED_CT: "394579002", fhir.SPECIALTY_SYSTEM: "cardiology"}
    assert main["text"] == "Cardiology"
    assert codes(second) == {fhir.SNOMED_CT: "394814009", fhir.SPECIALTY_SYSTEM: "general_practice"}
    assert [codes(item) for item in document["communication"]] == [
        {fhir.BCP47: "fr"},
        {fhir.BCP47: "en"},
    ]
    assert document["address"] == [
        {
            "use": "work",
            "type": "physical",
            "text": "12 rue de la Roquette, 75011 Paris",
            "city": "Paris",
        }
    ]


def test_the_clinician_account_stays_inside_voiceassist() -> None:
    text = fhir.practitioner_resource(a_doctor(), BASTILLE).model_dump_json()

    assert "hugo.lefevre@bastille.example" not in text
    assert "clinician-7" not in text


def test_a_specialty_without_an_exact_snomed_code_keeps_its_local_code() -> None:
    doctor = a_doctor(specialties=[clinical_pb2.Specialty.SPECIALTY_PEDIATRICS], languages=[])
    document = round_trip(fhir.practitioner_resource(doctor), Practitioner)

    (qualification,) = document["qualification"]
    assert codes(qualification["code"]) == {fhir.SPECIALTY_SYSTEM: "pediatrics"}
    assert "communication" not in document
    assert "address" not in document


def test_every_specialty_of_the_contract_is_coded_once() -> None:
    known = set(clinical_pb2.Specialty.values()) - {clinical_pb2.Specialty.SPECIALTY_UNSPECIFIED}
    assert set(fhir.SPECIALTIES) == known
    snomed = [s.snomed for s in fhir.SPECIALTIES.values() if s.snomed is not None]
    assert len(snomed) == len(set(snomed))
    local = [s.code for s in fhir.SPECIALTIES.values()]
    assert "obstetrics_gynecology" in local
    assert len(local) == len(set(local))


def test_a_schedule_is_the_practitioners_bookable_time() -> None:
    document = round_trip(fhir.schedule_resource(a_doctor(), now=NOW), Schedule)

    assert document["id"] == DOCTOR_ID
    assert document["active"] is True
    assert document["actor"] == [
        {"reference": f"Practitioner/{DOCTOR_ID}", "display": "Dr Hugo Lefèvre"}
    ]
    assert [codes(item)[fhir.SPECIALTY_SYSTEM] for item in document["specialty"]] == [
        "cardiology",
        "general_practice",
    ]
    assert document["planningHorizon"] == {
        "start": "2026-12-01T12:00:00Z",
        "end": "2026-12-29T12:00:00Z",
    }


def test_an_inactive_practitioners_schedule_is_inactive() -> None:
    schedule = fhir.schedule_resource(a_doctor(active=False), now=NOW)
    assert schedule.active is False


@pytest.mark.parametrize(
    "slot_id",
    [
        f"{DOCTOR_ID}.1796630400.20",
        "opaque_" + "x/y+z=" * 30,  # longer than 64 characters, with '_', '/', '+', '='
    ],
)
def test_a_free_slot_has_a_fhir_id_whatever_its_scheduling_id(slot_id: str) -> None:
    slot = pb.Slot(
        slot_id=slot_id,
        practitioner_id=DOCTOR_ID,
        start_time=stamp(NINE),
        end_time=stamp(NINE + timedelta(minutes=20)),
        timezone="Europe/Paris",
    )
    document = round_trip(fhir.slot_resource(slot), Slot)

    assert document["status"] == "free"
    assert document["schedule"] == {"reference": f"Schedule/{DOCTOR_ID}"}
    assert (document["start"], document["end"]) == ("2026-12-07T08:00:00Z", "2026-12-07T08:20:00Z")
    # The value to book with comes back unchanged.
    assert document["identifier"] == [{"system": fhir.SLOT_ID_SYSTEM, "value": slot_id}]
    assert len(document["id"]) <= 64
    assert fhir.slot_key(document["id"]) == fhir.SlotKey(
        DOCTOR_ID, NINE, NINE + timedelta(minutes=20)
    )


def test_the_longest_slot_id_fits_a_fhir_id() -> None:
    fhir_id = fhir.slot_fhir_id(DOCTOR_ID, NINE, NINE + timedelta(seconds=999_999))
    assert len(fhir_id) == 60
    assert fhir.is_fhir_id(fhir_id)


@pytest.mark.parametrize(
    "fhir_id",
    [
        "not-a-slot",
        f"{DOCTOR_ID}.20261207T080000Z.0",
        f"{DOCTOR_ID}.20261307T080000Z.1200",  # month 13
        f"{DOCTOR_ID.upper()}.20261207T080000Z.1200",
        f"{DOCTOR_ID}.20261207T080000Z.1200.",
    ],
)
def test_an_id_that_names_no_slot_reads_as_none(fhir_id: str) -> None:
    assert fhir.slot_key(fhir_id) is None


def test_a_period_a_slot_id_cannot_name_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be named"):
        fhir.slot_fhir_id("dr-who", NINE, NINE + timedelta(minutes=20))
    with pytest.raises(ValueError, match="cannot be named"):
        fhir.slot_fhir_id(DOCTOR_ID, NINE, NINE)


def test_a_booked_period_is_a_busy_slot_naming_no_patient() -> None:
    appointment = an_appointment()
    document = round_trip(fhir.busy_slot_resource(appointment), Slot)

    assert document["status"] == "busy"
    assert document["id"] == fhir.slot_fhir_id(DOCTOR_ID, NINE, NINE + timedelta(minutes=30))
    text = json.dumps(document)
    assert appointment.patient_subject not in text
    assert REASON not in text


def test_an_appointment_joins_practitioner_and_patient_without_the_reason() -> None:
    document = round_trip(fhir.appointment_resource(an_appointment(), a_doctor()), Appointment)

    assert document["status"] == "booked"
    assert (document["start"], document["end"]) == ("2026-12-07T08:00:00Z", "2026-12-07T08:30:00Z")
    assert document["minutesDuration"] == 30
    assert document["created"] == "2026-12-01T12:00:00Z"
    assert document["meta"]["lastUpdated"] == "2026-12-01T12:05:00Z"
    practitioner, patient = (item["actor"] for item in document["participant"])
    assert practitioner == {"reference": f"Practitioner/{DOCTOR_ID}", "display": "Dr Hugo Lefèvre"}
    assert patient == {
        "type": "Patient",
        "identifier": {
            "system": fhir.SUBJECT_SYSTEM,
            "value": "b1c2d3e4-0000-4000-8000-000000000001",
        },
    }
    assert codes(document["appointmentType"]) == {fhir.APPOINTMENT_REASON_V2: "ROUTINE"}
    assert codes(document["specialty"][0])[fhir.SNOMED_CT] == "394579002"
    slot_id = fhir.slot_fhir_id(DOCTOR_ID, NINE, NINE + timedelta(minutes=30))
    assert document["slot"] == [{"reference": f"Slot/{slot_id}"}]
    assert REASON not in json.dumps(document)
    assert not {"reasonCode", "reasonReference", "description", "comment"} & set(document)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (pb.AppointmentStatus.APPOINTMENT_STATUS_BOOKED, "booked"),
        (pb.AppointmentStatus.APPOINTMENT_STATUS_CANCELLED, "cancelled"),
        (pb.AppointmentStatus.APPOINTMENT_STATUS_FULFILLED, "fulfilled"),
        (pb.AppointmentStatus.APPOINTMENT_STATUS_NO_SHOW, "noshow"),
    ],
)
def test_each_status_is_its_fhir_code(status: int, code: str) -> None:
    appointment = an_appointment(status=status, cancellation_reason="My ex-wife is a doctor there")
    document = round_trip(fhir.appointment_resource(appointment), Appointment)

    assert document["status"] == code
    assert "My ex-wife" not in json.dumps(document)
    assert "cancelationReason" not in document
    # Only a booking still holds its slot.
    assert ("slot" in document) == (code == "booked")


def test_an_appointment_within_24_hours_says_so() -> None:
    urgent = an_appointment(urgency=clinical_pb2.UrgencyLevel.URGENCY_LEVEL_CONSULTATION_24)
    document = round_trip(fhir.appointment_resource(urgent), Appointment)

    assert codes(document["appointmentType"]) == {fhir.URGENCY_SYSTEM: "consultation_24"}
    assert "specialty" not in document  # unknown without the practitioner
    assert document["participant"][0]["actor"] == {"reference": f"Practitioner/{DOCTOR_ID}"}


def test_a_searchset_counts_its_matches_and_links_itself() -> None:
    resources = [
        fhir.practitioner_resource(a_doctor()),
        fhir.practitioner_resource(a_doctor(practitioner_id=PRACTICE_ID)),
    ]
    bundle = fhir.searchset(
        resources,
        base_url="https://clinic.example/api/v1/fhir/",
        self_url="https://clinic.example/api/v1/fhir/Practitioner?specialty=cardiology",
    )
    document = json.loads(bundle.model_dump_json())
    parsed = Bundle.model_validate(document)

    assert document["type"] == "searchset"
    assert document["total"] == 2
    assert document["link"] == [
        {
            "relation": "self",
            "url": "https://clinic.example/api/v1/fhir/Practitioner?specialty=cardiology",
        }
    ]
    assert [entry["fullUrl"] for entry in document["entry"]] == [
        f"https://clinic.example/api/v1/fhir/Practitioner/{DOCTOR_ID}",
        f"https://clinic.example/api/v1/fhir/Practitioner/{PRACTICE_ID}",
    ]
    assert {entry["search"]["mode"] for entry in document["entry"]} == {"match"}
    assert all(isinstance(entry.resource, Practitioner) for entry in parsed.entry or [])


def test_a_page_with_more_to_come_links_the_next_and_does_not_guess_the_total() -> None:
    bundle = fhir.searchset(
        [fhir.schedule_resource(a_doctor(), now=NOW)],
        base_url="https://clinic.example/api/v1/fhir",
        self_url="https://clinic.example/api/v1/fhir/Schedule?_count=1",
        next_url="https://clinic.example/api/v1/fhir/Schedule?_count=1&_page_token=MQ",
    )
    document = json.loads(bundle.model_dump_json())
    Bundle.model_validate(document)

    assert "total" not in document
    assert [link["relation"] for link in document["link"]] == ["self", "next"]


def test_an_empty_searchset_is_still_a_valid_bundle() -> None:
    document = json.loads(
        fhir.searchset(
            [], base_url="https://x/fhir", self_url="https://x/fhir/Slot"
        ).model_dump_json()
    )
    Bundle.model_validate(document)
    assert document["total"] == 0
    assert "entry" not in document


def test_date_bounds_read_prefixes_days_and_instants() -> None:
    week = fhir.date_bounds("start", ["ge2026-12-07", "lt2026-12-14"])
    assert week == fhir.DateBounds(NINE.replace(hour=0), datetime(2026, 12, 14, tzinfo=UTC))

    day = fhir.date_bounds("date", ["2026-12-07"])
    assert day == fhir.DateBounds(NINE.replace(hour=0), datetime(2026, 12, 8, tzinfo=UTC))

    month = fhir.date_bounds("date", ["eq2026-12"])
    assert month == fhir.DateBounds(
        datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )

    morning = fhir.date_bounds("start", ["ge2026-12-07T09:00:00+01:00", "le2026-12-07T12:00:00Z"])
    assert morning == fhir.DateBounds(NINE, datetime(2026, 12, 7, 12, tzinfo=UTC))

    after = fhir.date_bounds("start", ["gt2026-12-07"])
    assert after == fhir.DateBounds(datetime(2026, 12, 8, tzinfo=UTC), None)

    assert fhir.date_bounds("start", []) == fhir.DateBounds()


@pytest.mark.parametrize(
    "values",
    [["ne2026-12-07"], ["ge2026-12-14", "lt2026-12-07"], ["tomorrow"], ["ge2026-12-07,2026-12-08"]],
)
def test_date_bounds_refuse_what_bounds_no_period(values: list[str]) -> None:
    with pytest.raises(fhir.SearchParameterError) as refused:
        fhir.date_bounds("start", values)
    assert refused.value.parameter == "start"
    assert "tomorrow" not in str(refused.value)  # a value is never repeated back


def test_specialty_tokens_accept_local_and_snomed_codes() -> None:
    cardiology = clinical_pb2.Specialty.SPECIALTY_CARDIOLOGY
    assert fhir.specialty_of(["cardiology"]) == cardiology
    assert fhir.specialty_of([f"{fhir.SPECIALTY_SYSTEM}|cardiology"]) == cardiology
    assert fhir.specialty_of(["394579002"]) == cardiology
    assert fhir.specialty_of([f"{fhir.SNOMED_CT}|394579002"]) == cardiology
    assert fhir.specialty_of([]) is None
    for unknown in (["astrology"], [f"{fhir.SNOMED_CT}|cardiology"], ["cardiology,neurology"]):
        with pytest.raises(fhir.SearchParameterError):
            fhir.specialty_of(unknown)


def test_language_tokens_are_bcp47() -> None:
    assert fhir.language_of(["fr"]) == language_pb2.Language.LANGUAGE_FRENCH
    assert fhir.language_of(["fr-CA"]) == language_pb2.Language.LANGUAGE_FRENCH
    assert fhir.language_of([f"{fhir.BCP47}|ur"]) == language_pb2.Language.LANGUAGE_URDU
    assert fhir.language_of([]) is None
    with pytest.raises(fhir.SearchParameterError):
        fhir.language_of(["de"])


def test_references_name_their_resource() -> None:
    assert fhir.reference_id([f"Practitioner/{DOCTOR_ID}"], "Practitioner", "actor") == DOCTOR_ID
    assert fhir.reference_id([DOCTOR_ID], "Practitioner", "actor") == DOCTOR_ID
    url = f"https://clinic.example/api/v1/fhir/Schedule/{DOCTOR_ID}"
    assert fhir.reference_id([url], "Schedule", "schedule") == DOCTOR_ID
    assert fhir.reference_id([], "Schedule", "schedule") is None
    with pytest.raises(fhir.SearchParameterError, match="must be to a Practitioner"):
        fhir.reference_id([f"Patient/{DOCTOR_ID}"], "Practitioner", "practitioner")


def test_statuses_or_within_a_parameter_and_and_across() -> None:
    booked = pb.AppointmentStatus.APPOINTMENT_STATUS_BOOKED
    no_show = pb.AppointmentStatus.APPOINTMENT_STATUS_NO_SHOW
    assert fhir.appointment_statuses(["booked,noshow"]) == sorted([booked, no_show])
    assert fhir.appointment_statuses(["booked,noshow", "noshow"]) == [no_show]
    assert fhir.appointment_statuses([]) == []
    with pytest.raises(fhir.SearchParameterError):
        fhir.appointment_statuses(["arrived"])


def test_slot_status_is_free_or_busy() -> None:
    assert fhir.slot_status([]) == "free"
    assert fhir.slot_status(["busy"]) == "busy"
    with pytest.raises(fhir.SearchParameterError):
        fhir.slot_status(["free,busy"])
