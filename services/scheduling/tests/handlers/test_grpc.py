"""SchedulingService over loopback gRPC against a real PostgreSQL seeded with the demo clinic.

What patients and staff would notice: urgent patients are offered only slots within 24 hours
and emergencies none; a booked slot disappears; a retry returns the same appointment; a patient
never sees another's appointment; a clinician sees their practice's; admins add practitioners
whose slots then appear. The clock is fixed so the tests do not depend on today's weekday.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
from google.protobuf import duration_pb2, field_mask_pb2
from google.rpc import status_pb2  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.jwk import RSAKey
from voiceassist.common.v1 import (
    clinical_pb2,
    language_pb2,
    paging_pb2,
    problem_pb2,
    time_window_pb2,
)
from voiceassist.scheduling.v1 import scheduling_pb2 as pb
from voiceassist.scheduling.v1 import scheduling_pb2_grpc
from voiceassist_common.grpc.principal import Callers, bearer_metadata
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.tokens import JwksCache, TokenVerifier
from voiceassist_scheduling.adapters.repository import PostgresSchedulingRepository
from voiceassist_scheduling.handlers.convert import timestamp_out
from voiceassist_scheduling.handlers.grpc import registrar
from voiceassist_scheduling.seed import load_demo_clinic, seed_demo_clinic

pytestmark = pytest.mark.integration

ISSUER = "http://127.0.0.1:8080/realms/voiceassist"
AUDIENCE = "voiceassist-api"
KEY = RSAKey.generate_key(2048, parameters={"kid": "scheduling-test", "alg": "RS256"})
ALICE, BOB = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
CLINICIAN, ADMIN = "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"
CLINICIAN_EMAIL = "clinician@demo.voiceassist.local"  # Dr Claire Martin, Paris (demo clinic)
# Monday 7 December 2026, 08:00 in Paris: the demo clinic opens at 08:30.
NOW = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)


def as_user(subject: str, *roles: str, email: str | None = None) -> tuple[tuple[str, str], ...]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": subject,
        "aud": [AUDIENCE, "account"],
        "azp": "voiceassist-web",
        "typ": "Bearer",
        # Module constants mint these at collection, up to a whole `make test` (~20 min) before
        # use: they must outlive the session, or a slow run fails on "expired".
        "exp": now + 3600,
        "iat": now,
        "realm_access": {"roles": list(roles)},
    }
    if email is not None:
        claims.update(email=email, email_verified=True)
    header = {"alg": "RS256", "kid": "scheduling-test"}
    return bearer_metadata(jwt.encode(header, claims, KEY, algorithms=["RS256"]))


PATIENT_ALICE = as_user(ALICE, "patient", email="alice@example.org")
PATIENT_BOB = as_user(BOB, "patient")
DR_MARTIN = as_user(CLINICIAN, "clinician", email=CLINICIAN_EMAIL)
AN_ADMIN = as_user(ADMIN, "admin")


@pytest.fixture
async def repository(scheduling_pool: asyncpg.Pool[asyncpg.Record]) -> PostgresSchedulingRepository:
    repository = PostgresSchedulingRepository(scheduling_pool)
    await seed_demo_clinic(repository)
    return repository


@pytest.fixture
async def stub(repository: PostgresSchedulingRepository) -> AsyncIterator[Any]:
    jwks = {"keys": [KEY.as_dict(private=False)]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=jwks))
    async with httpx.AsyncClient(transport=transport) as http:
        cache = JwksCache(jwks_uri=f"{ISSUER}/protocol/openid-connect/certs", http_client=http)
        callers = Callers(TokenVerifier(ISSUER, AUDIENCE, cache))
        server = await start_grpc_server(
            "127.0.0.1:0", registrar(repository, callers, clock=lambda: NOW)
        )
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
        try:
            yield scheduling_pb2_grpc.SchedulingServiceStub(channel)
        finally:
            await channel.close(grace=None)
            await server.stop(0)


async def refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return error.value


def violated_field(error: grpc.aio.AioRpcError) -> str:
    metadata: Any = error.trailing_metadata() or ()
    for key, value in metadata:
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            problem = problem_pb2.Problem()
            status.details[0].Unpack(problem)
            return str(problem.violations[0].field)
    raise AssertionError("no Problem in the refusal")


def window(start: datetime, end: datetime) -> time_window_pb2.TimeWindow:
    return time_window_pb2.TimeWindow(start_time=timestamp_out(start), end_time=timestamp_out(end))


async def first_paris_gp_slot(stub: Any) -> pb.Slot:
    reply = await stub.Match(
        pb.MatchRequest(
            specialty=clinical_pb2.SPECIALTY_GENERAL_PRACTICE,
            urgency=clinical_pb2.URGENCY_LEVEL_CONSULTATION,
            language=language_pb2.LANGUAGE_FRENCH,
            city="Paris",
        ),
        metadata=PATIENT_ALICE,
    )
    assert reply.outcome == pb.MATCH_OUTCOME_MATCHED
    slot: pb.Slot = reply.matches[0].earliest_slots[0]
    return slot


async def book(
    stub: Any, slot: pb.Slot, key: str, who: Sequence[tuple[str, str]] = PATIENT_ALICE
) -> pb.BookResponse:
    request = pb.BookRequest(
        idempotency_key=key,
        slot_id=slot.slot_id,
        reason="sore throat for three days",
        urgency=clinical_pb2.URGENCY_LEVEL_CONSULTATION,
    )
    reply: pb.BookResponse = await stub.Book(request, metadata=who)
    return reply


# --- matching --------------------------------------------------------------------------------


async def test_an_urgent_patient_is_offered_only_slots_within_24_hours(stub: Any) -> None:
    reply = await stub.Match(
        pb.MatchRequest(
            specialty=clinical_pb2.SPECIALTY_CARDIOLOGY,
            urgency=clinical_pb2.URGENCY_LEVEL_CONSULTATION_24,
            city="Paris",
            slots_per_practitioner=5,
        ),
        metadata=PATIENT_ALICE,
    )
    assert reply.outcome == pb.MATCH_OUTCOME_MATCHED
    slots = [slot for match in reply.matches for slot in match.earliest_slots]
    assert slots
    assert all(s.start_time.ToDatetime(UTC) < NOW + timedelta(hours=24) for s in slots)
    # The Paris cardiologist consults on Mondays: he is offered first.
    assert clinical_pb2.SPECIALTY_CARDIOLOGY in reply.matches[0].practitioner.specialties


@pytest.mark.parametrize(
    "level",
    [clinical_pb2.URGENCY_LEVEL_EMERGENCY_AMBULANCE, clinical_pb2.URGENCY_LEVEL_EMERGENCY],
)
async def test_an_emergency_is_never_offered_a_booking(
    stub: Any, level: clinical_pb2.UrgencyLevel.ValueType
) -> None:
    reply = await stub.Match(
        pb.MatchRequest(specialty=clinical_pb2.SPECIALTY_CARDIOLOGY, urgency=level),
        metadata=PATIENT_ALICE,
    )
    assert reply.outcome == pb.MATCH_OUTCOME_NOT_BOOKABLE
    assert not reply.matches
    assert "emergency" in reply.advice


async def test_no_urgent_slot_says_so_and_suggests_urgent_care(stub: Any) -> None:
    # Saturday evening in Paris: no specialist works before Monday morning.
    saturday = datetime(2026, 12, 12, 18, 0, tzinfo=UTC)
    reply = await stub.Match(
        pb.MatchRequest(
            specialty=clinical_pb2.SPECIALTY_NEUROLOGY,
            urgency=clinical_pb2.URGENCY_LEVEL_CONSULTATION_24,
            preferred_window=window(saturday, saturday + timedelta(hours=24)),
        ),
        metadata=PATIENT_ALICE,
    )
    if reply.outcome == pb.MATCH_OUTCOME_MATCHED:
        # General practitioners may still be offered; every slot stays within 24 hours of now.
        slots = [s for m in reply.matches for s in m.earliest_slots]
        assert all(s.start_time.ToDatetime(UTC) < NOW + timedelta(hours=24) for s in slots)
    else:
        assert reply.outcome == pb.MATCH_OUTCOME_NO_SLOTS_IN_WINDOW
        assert "urgent care" in reply.advice


async def test_the_patients_language_ranks_first(stub: Any) -> None:
    reply = await stub.Match(
        pb.MatchRequest(
            specialty=clinical_pb2.SPECIALTY_GENERAL_PRACTICE,
            urgency=clinical_pb2.URGENCY_LEVEL_CONSULTATION,
            language=language_pb2.LANGUAGE_URDU,
            max_practitioners=3,
        ),
        metadata=PATIENT_ALICE,
    )
    assert language_pb2.LANGUAGE_URDU in reply.matches[0].practitioner.languages


# --- booking ---------------------------------------------------------------------------------


async def test_a_booked_slot_disappears_and_cannot_be_booked_twice(stub: Any) -> None:
    slot = await first_paris_gp_slot(stub)
    listed = await stub.ListSlots(
        pb.ListSlotsRequest(
            practitioner_id=slot.practitioner_id, window=window(NOW, NOW + timedelta(days=1))
        ),
        metadata=PATIENT_ALICE,
    )
    assert slot.slot_id in [s.slot_id for s in listed.slots]

    booked = await book(stub, slot, "key-1")
    assert booked.appointment.status == pb.APPOINTMENT_STATUS_BOOKED
    assert booked.appointment.patient_subject == ALICE
    assert booked.appointment.timezone == "Europe/Paris"

    listed = await stub.ListSlots(
        pb.ListSlotsRequest(
            practitioner_id=slot.practitioner_id, window=window(NOW, NOW + timedelta(days=1))
        ),
        metadata=PATIENT_ALICE,
    )
    assert slot.slot_id not in [s.slot_id for s in listed.slots]
    error = await refused(book(stub, slot, "key-2", PATIENT_BOB))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_retried_booking_returns_the_same_appointment(stub: Any) -> None:
    slot = await first_paris_gp_slot(stub)
    first = await book(stub, slot, "retry-key")
    again = await book(stub, slot, "retry-key")
    assert again.replayed
    assert not first.replayed
    assert again.appointment.appointment_id == first.appointment.appointment_id
    mine = await stub.ListAppointments(pb.ListAppointmentsRequest(), metadata=PATIENT_ALICE)
    assert len(mine.appointments) == 1


async def test_a_key_reused_for_another_slot_is_refused_naming_the_field(stub: Any) -> None:
    slot = await first_paris_gp_slot(stub)
    await book(stub, slot, "reused-key")
    later = await stub.ListSlots(
        pb.ListSlotsRequest(
            practitioner_id=slot.practitioner_id, window=window(NOW, NOW + timedelta(days=2))
        ),
        metadata=PATIENT_ALICE,
    )
    error = await refused(book(stub, later.slots[3], "reused-key"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_field(error) == "idempotency_key"


async def test_a_malformed_slot_id_is_refused_naming_the_field(stub: Any) -> None:
    request = pb.BookRequest(idempotency_key="k", slot_id="not-a-slot")
    error = await refused(stub.Book(request, metadata=PATIENT_ALICE))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_field(error) == "slot_id"


async def test_a_slot_outside_the_practitioners_hours_is_refused(stub: Any) -> None:
    slot = await first_paris_gp_slot(stub)
    practitioner, start, minutes = slot.slot_id.split(".")
    night = f"{practitioner}.{int(start) + 13 * 3600}.{minutes}"  # 21:30 in Paris
    request = pb.BookRequest(idempotency_key="night", slot_id=night)
    error = await refused(stub.Book(request, metadata=PATIENT_ALICE))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_cancel_frees_the_slot_and_reschedule_keeps_the_id(stub: Any) -> None:
    slot = await first_paris_gp_slot(stub)
    booked = (await book(stub, slot, "c-1")).appointment
    others = await stub.ListSlots(
        pb.ListSlotsRequest(
            practitioner_id=slot.practitioner_id, window=window(NOW, NOW + timedelta(days=2))
        ),
        metadata=PATIENT_ALICE,
    )
    target = others.slots[5]
    moved = await stub.Reschedule(
        pb.RescheduleRequest(
            idempotency_key="r-1", appointment_id=booked.appointment_id, new_slot_id=target.slot_id
        ),
        metadata=PATIENT_ALICE,
    )
    assert moved.appointment.appointment_id == booked.appointment_id
    assert moved.appointment.start_time == target.start_time
    cancelled = await stub.Cancel(
        pb.CancelRequest(
            idempotency_key="x-1", appointment_id=booked.appointment_id, reason="feeling better"
        ),
        metadata=PATIENT_ALICE,
    )
    assert cancelled.appointment.status == pb.APPOINTMENT_STATUS_CANCELLED
    # Both periods are free again: the first slot can be booked by someone else.
    assert (await book(stub, slot, "c-2", PATIENT_BOB)).appointment.patient_subject == BOB


async def test_every_change_writes_its_event_to_the_outbox(
    stub: Any, scheduling_pool: asyncpg.Pool[asyncpg.Record]
) -> None:
    slot = await first_paris_gp_slot(stub)
    booked = (await book(stub, slot, "o-1")).appointment
    await book(stub, slot, "o-1")  # a replay announces nothing
    await stub.Cancel(
        pb.CancelRequest(idempotency_key="o-2", appointment_id=booked.appointment_id),
        metadata=PATIENT_ALICE,
    )
    subjects = await scheduling_pool.fetch("SELECT subject FROM outbox ORDER BY create_time")
    assert [row["subject"] for row in subjects] == [
        "scheduling.appointment.booked",
        "scheduling.appointment.cancelled",
    ]


# --- who sees what ---------------------------------------------------------------------------


async def test_a_patient_never_sees_another_patients_appointment(stub: Any) -> None:
    slot = await first_paris_gp_slot(stub)
    alices = (await book(stub, slot, "a-1")).appointment
    get = pb.GetAppointmentRequest(appointment_id=alices.appointment_id)
    assert (await refused(stub.GetAppointment(get, metadata=PATIENT_BOB))).code() == (
        grpc.StatusCode.NOT_FOUND
    )
    cancel = pb.CancelRequest(idempotency_key="b-1", appointment_id=alices.appointment_id)
    assert (await refused(stub.Cancel(cancel, metadata=PATIENT_BOB))).code() == (
        grpc.StatusCode.NOT_FOUND
    )
    bobs = await stub.ListAppointments(pb.ListAppointmentsRequest(), metadata=PATIENT_BOB)
    assert not bobs.appointments
    others = pb.ListAppointmentsRequest(patient_subject=ALICE)
    assert (await refused(stub.ListAppointments(others, metadata=PATIENT_BOB))).code() == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    book_for_alice = pb.BookRequest(
        idempotency_key="b-2", slot_id=slot.slot_id, patient_subject=ALICE
    )
    assert (await refused(stub.Book(book_for_alice, metadata=PATIENT_BOB))).code() == (
        grpc.StatusCode.PERMISSION_DENIED
    )


async def test_a_clinician_sees_only_their_practices_appointments(stub: Any) -> None:
    paris = await first_paris_gp_slot(stub)
    in_paris = (await book(stub, paris, "p-1")).appointment
    lyon = await stub.Match(
        pb.MatchRequest(
            specialty=clinical_pb2.SPECIALTY_GASTROENTEROLOGY,
            urgency=clinical_pb2.URGENCY_LEVEL_CONSULTATION,
            city="Lyon",
        ),
        metadata=PATIENT_BOB,
    )
    assert lyon.matches[0].practice.city == "Lyon"
    in_lyon = (await book(stub, lyon.matches[0].earliest_slots[0], "l-1", PATIENT_BOB)).appointment

    seen = await stub.ListAppointments(pb.ListAppointmentsRequest(), metadata=DR_MARTIN)
    assert [a.appointment_id for a in seen.appointments] == [in_paris.appointment_id]
    get = pb.GetAppointmentRequest(appointment_id=in_lyon.appointment_id)
    assert (await refused(stub.GetAppointment(get, metadata=DR_MARTIN))).code() == (
        grpc.StatusCode.NOT_FOUND
    )
    everything = await stub.ListAppointments(pb.ListAppointmentsRequest(), metadata=AN_ADMIN)
    assert len(everything.appointments) == 2

    attended = await stub.RecordAttendance(
        pb.RecordAttendanceRequest(
            appointment_id=in_paris.appointment_id, attendance=pb.ATTENDANCE_ATTENDED
        ),
        metadata=DR_MARTIN,
    )
    assert attended.appointment.status == pb.APPOINTMENT_STATUS_FULFILLED
    by_patient = pb.RecordAttendanceRequest(
        appointment_id=in_lyon.appointment_id, attendance=pb.ATTENDANCE_ATTENDED
    )
    assert (await refused(stub.RecordAttendance(by_patient, metadata=PATIENT_BOB))).code() == (
        grpc.StatusCode.PERMISSION_DENIED
    )


async def test_an_admin_adds_a_practitioner_whose_slots_then_appear(stub: Any) -> None:
    practices = await stub.ListPractices(pb.ListPracticesRequest(city="Toronto"), metadata=AN_ADMIN)
    toronto = practices.practices[0]
    new = pb.Practitioner(
        display_name="Dr Test Added",
        specialties=[clinical_pb2.SPECIALTY_DERMATOLOGY],
        languages=[language_pb2.LANGUAGE_ENGLISH],
        practice_id=toronto.practice_id,
    )
    patient_try = pb.CreatePractitionerRequest(practitioner=new)
    assert (
        await refused(stub.CreatePractitioner(patient_try, metadata=PATIENT_ALICE))
    ).code() == grpc.StatusCode.PERMISSION_DENIED

    created = (await stub.CreatePractitioner(patient_try, metadata=AN_ADMIN)).practitioner
    assert created.active
    rule = pb.AvailabilityRule(
        weekday=pb.WEEKDAY_TUESDAY,
        start_time=pb.LocalTime(hours=9),
        end_time=pb.LocalTime(hours=11),
        slot_duration=duration_pb2.Duration(seconds=15 * 60),
    )
    await stub.SetWeeklyAvailability(
        pb.SetWeeklyAvailabilityRequest(practitioner_id=created.practitioner_id, rules=[rule]),
        metadata=AN_ADMIN,
    )
    slots = await stub.ListSlots(
        pb.ListSlotsRequest(
            specialty=clinical_pb2.SPECIALTY_DERMATOLOGY,
            city="Toronto",
            window=window(NOW, NOW + timedelta(days=7)),
        ),
        metadata=PATIENT_ALICE,
    )
    mine = [s for s in slots.slots if s.practitioner_id == created.practitioner_id]
    assert len(mine) == 8  # Tuesday 09:00-11:00 Toronto time in 15-minute slots
    assert mine[0].start_time.ToDatetime(UTC) == datetime(2026, 12, 8, 14, 0, tzinfo=UTC)

    overlapping = pb.SetWeeklyAvailabilityRequest(
        practitioner_id=created.practitioner_id, rules=[rule, rule]
    )
    error = await refused(stub.SetWeeklyAvailability(overlapping, metadata=AN_ADMIN))
    assert violated_field(error) == "rules[1]"

    leave = pb.AddAvailabilityExceptionRequest(
        practitioner_id=created.practitioner_id,
        exception=pb.AvailabilityException(
            window=window(NOW, NOW + timedelta(days=7)), kind=pb.EXCEPTION_KIND_LEAVE
        ),
    )
    await stub.AddAvailabilityException(leave, metadata=AN_ADMIN)
    slots = await stub.ListSlots(
        pb.ListSlotsRequest(
            practitioner_id=created.practitioner_id, window=window(NOW, NOW + timedelta(days=7))
        ),
        metadata=PATIENT_ALICE,
    )
    assert not slots.slots

    renamed = await stub.UpdatePractitioner(
        pb.UpdatePractitionerRequest(
            practitioner=pb.Practitioner(
                practitioner_id=created.practitioner_id, display_name="Dr Renamed"
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        ),
        metadata=AN_ADMIN,
    )
    assert renamed.practitioner.display_name == "Dr Renamed"
    assert renamed.practitioner.specialties == [clinical_pb2.SPECIALTY_DERMATOLOGY]


async def test_the_demo_clinic_is_browsable(stub: Any) -> None:
    clinic = load_demo_clinic()
    listed = await stub.ListPractitioners(
        pb.ListPractitionersRequest(page=paging_pb2.Pagination(page_size=10)),
        metadata=PATIENT_ALICE,
    )
    assert len(listed.practitioners) == 10
    assert listed.page_info.next_page_token
    rest = await stub.ListPractitioners(
        pb.ListPractitionersRequest(
            page=paging_pb2.Pagination(page_size=100, page_token=listed.page_info.next_page_token)
        ),
        metadata=PATIENT_ALICE,
    )
    assert len(listed.practitioners) + len(rest.practitioners) == len(clinic.practitioners)
    # Account links are for staff: a patient does not see a practitioner's e-mail.
    assert all(not p.email for p in [*listed.practitioners, *rest.practitioners])
    one = await stub.GetPractitioner(
        pb.GetPractitionerRequest(practitioner_id=listed.practitioners[0].practitioner_id),
        metadata=PATIENT_ALICE,
    )
    assert one.weekly_availability
    assert one.practice.timezone


async def test_a_spoken_time_resolves_in_the_practice_timezone(stub: Any) -> None:
    reply = await stub.ResolveTimeExpression(
        pb.ResolveTimeExpressionRequest(
            text="mardi prochain le matin",
            timezone="Europe/Paris",
            reference_time=timestamp_out(NOW),
        ),
        metadata=PATIENT_ALICE,
    )
    assert reply.resolved
    start = reply.window.start_time.ToDatetime(UTC)
    assert start.weekday() == 1  # a Tuesday morning
    assert start > NOW
    unknown_zone = pb.ResolveTimeExpressionRequest(text="tomorrow", timezone="Mars/Olympus")
    error = await refused(stub.ResolveTimeExpression(unknown_zone, metadata=PATIENT_ALICE))
    assert violated_field(error) == "timezone"


async def test_calendars_go_to_the_patient_and_the_practice_only(stub: Any) -> None:
    slot = await first_paris_gp_slot(stub)
    booked = (await book(stub, slot, "ics-1")).appointment
    reply = await stub.GetAppointmentCalendar(
        pb.GetAppointmentCalendarRequest(appointment_id=booked.appointment_id),
        metadata=PATIENT_ALICE,
    )
    mine = reply.calendar
    text = mine.content.decode()
    assert mine.media_type.startswith("text/calendar")
    assert f"UID:{booked.appointment_id}@voiceassist" in text
    assert "sore throat" not in text  # the reason is PHI, kept out of calendars
    someone_else = pb.GetAppointmentCalendarRequest(appointment_id=booked.appointment_id)
    error = await refused(stub.GetAppointmentCalendar(someone_else, metadata=PATIENT_BOB))
    assert error.code() == grpc.StatusCode.NOT_FOUND

    feed_request = pb.GetPractitionerCalendarRequest(practitioner_id=slot.practitioner_id)
    feed_reply = await stub.GetPractitionerCalendar(feed_request, metadata=DR_MARTIN)
    feed = feed_reply.calendar.content.decode()
    assert f"{booked.appointment_id}@voiceassist" in feed
    assert ALICE not in feed
    error = await refused(stub.GetPractitionerCalendar(feed_request, metadata=PATIENT_ALICE))
    assert error.code() == grpc.StatusCode.NOT_FOUND
