"""The demo clinic for local development: its data file, and a seeding that can run again.

`load_demo_clinic` parses demo_clinic.yaml into domain values whose ids are uuid5 of the names,
so `seed_demo_clinic` run twice updates the same rows instead of adding a second clinic. Weekly
rules generate slots for as far ahead as anyone searches (four weeks and more).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from importlib.resources import files
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

import yaml

from voiceassist_scheduling.adapters.repository import PostgresSchedulingRepository
from voiceassist_scheduling.domain.model import (
    AvailabilityRule,
    Practice,
    Practitioner,
    Specialty,
)

__all__ = ["AppointmentType", "DemoClinic", "load_demo_clinic", "seed_demo_clinic"]

_NAMESPACE = uuid5(NAMESPACE_URL, "https://voiceassist.local/demo-clinic")


@dataclass(frozen=True)
class AppointmentType:
    """A kind of consultation and its length."""

    code: str
    display_name: str
    minutes: int


@dataclass(frozen=True)
class DemoClinic:
    """Everything the demo clinic holds."""

    appointment_types: tuple[AppointmentType, ...]
    practices: tuple[Practice, ...]
    practitioners: tuple[Practitioner, ...]
    availability: dict[UUID, tuple[AvailabilityRule, ...]]


def _id(kind: str, name: str) -> UUID:
    return uuid5(_NAMESPACE, f"{kind}:{name}")


def _time(text: str) -> time:
    return time.fromisoformat(text)


def load_demo_clinic() -> DemoClinic:
    """Parse the data file, refusing unknown specialties, timezones or references."""
    text = files(__package__).joinpath("demo_clinic.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    types = tuple(AppointmentType(**entry) for entry in data["appointment_types"])
    minutes = {t.code: t.minutes for t in types}
    practices = []
    for entry in data["practices"]:
        ZoneInfo(entry["timezone"])  # an unknown timezone fails here, not at the first search
        practices.append(
            Practice(
                id=_id("practice", entry["name"]),
                name=entry["name"],
                city=entry["city"],
                timezone=entry["timezone"],
                address=entry["address"],
                latitude=entry["latitude"],
                longitude=entry["longitude"],
            )
        )
    practice_ids = {p.name: p.id for p in practices}
    schedules = {
        name: tuple(
            AvailabilityRule(
                weekday=day,
                start_time=_time(rule["start"]),
                end_time=_time(rule["end"]),
                appointment_type=rule["type"],
                slot_minutes=minutes[rule["type"]],
            )
            for rule in rules
            for day in rule["weekdays"]
        )
        for name, rules in data["schedules"].items()
    }
    practitioners = []
    availability = {}
    for entry in data["practitioners"]:
        practitioner = Practitioner(
            id=_id("practitioner", entry["name"]),
            display_name=entry["name"],
            specialties=tuple(Specialty(s) for s in entry["specialties"]),
            languages=tuple(entry["languages"]),
            practice_id=practice_ids[entry["practice"]],
            email=entry.get("email", ""),
        )
        practitioners.append(practitioner)
        availability[practitioner.id] = schedules[entry["schedule"]]
    return DemoClinic(types, tuple(practices), tuple(practitioners), availability)


async def seed_demo_clinic(repository: PostgresSchedulingRepository) -> DemoClinic:
    """Write the demo clinic; running it again changes nothing but edited values."""
    clinic = load_demo_clinic()
    for kind in clinic.appointment_types:
        await repository.ensure_appointment_type(kind.code, kind.display_name, kind.minutes)
    for practice in clinic.practices:
        await repository.add_practice(practice)
    for practitioner in clinic.practitioners:
        await repository.add_practitioner(practitioner)
        await repository.set_weekly_availability(
            practitioner.id, clinic.availability[practitioner.id]
        )
    return clinic
