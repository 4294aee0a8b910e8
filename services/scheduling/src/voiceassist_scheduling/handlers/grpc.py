"""gRPC entry point of the scheduling service: ``voiceassist.scheduling.v1.SchedulingService``.

Each RPC checks its fields (handlers/convert.py refuses a bad one with INVALID_ARGUMENT and a
Problem naming it), works out who the caller is and what they may see (handlers/base.py), and
runs the domain: slots derived from weekly rules (domain/slots.py), matching by urgency
(domain/matching.py), bookings the database refuses to overlap (adapters/repository.py). This
module holds matching, slots, bookings and time expressions; handlers/clinic.py the practices,
practitioners, availability and calendars.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import grpc
from prometheus_client import Counter
from voiceassist.scheduling.v1 import scheduling_pb2 as pb
from voiceassist.scheduling.v1 import scheduling_pb2_grpc
from voiceassist_common.errors import FailedPrecondition, NotFound, PermissionDenied
from voiceassist_common.events import CancellationReason
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.grpc.problems import answering
from voiceassist_common.grpc.server import Register

from voiceassist_scheduling.adapters.repository import (
    AppointmentFilter,
    AppointmentNotFoundError,
    AppointmentStateError,
    BookingRequest,
    IdempotencyKeyReusedError,
    PostgresSchedulingRepository,
    SlotTakenError,
)
from voiceassist_scheduling.domain.matching import (
    URGENT_HORIZON,
    Candidate,
    MatchOutcome,
    MatchQuery,
    advice,
    allowed_window,
    match,
    same_city,
)
from voiceassist_scheduling.domain.model import (
    AppointmentStatus,
    Slot,
    Specialty,
    UrgencyLevel,
)
from voiceassist_scheduling.domain.time_expressions import resolve_time_expression
from voiceassist_scheduling.handlers import convert
from voiceassist_scheduling.handlers.base import (
    next_page,
    page_of,
)
from voiceassist_scheduling.handlers.clinic import ClinicRpcs
from voiceassist_scheduling.handlers.convert import SlotId, invalid

__all__ = ["BOOKINGS", "SERVICE", "SchedulingServicer", "registrar"]

SERVICE = pb.DESCRIPTOR.services_by_name["SchedulingService"]

MAX_SLOT_WINDOW = timedelta(days=31)
MAX_MATCHES = 10
MAX_TEXT_EXPRESSION = 500

BOOKINGS = Counter(
    "voiceassist_scheduling_bookings",
    "Book, Cancel and Reschedule calls by operation and outcome.",
    ["operation", "outcome"],
)


class SchedulingServicer(ClinicRpcs):
    """The scheduling RPCs over one repository: matching, slots, bookings, time expressions."""

    # --- matching and slots -------------------------------------------------------------------

    @answering
    async def Match(  # noqa: N802 - gRPC method name
        self, request: pb.MatchRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.MatchResponse:
        """Rank practitioners with their earliest free slots for a triaged patient."""
        await self._callers.authenticate(context)
        urgency = convert.urgency_in(request.urgency)
        if urgency is None:
            raise invalid("urgency", "is required (the level triage gave)", "missing_field")
        specialty = convert.specialty_in(request.specialty)
        language = convert.language_in(request.language)
        latitude = longitude = None
        if request.HasField("location"):
            latitude, longitude = request.location.latitude, request.location.longitude
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise invalid("location", "must be a latitude and longitude in degrees")
        city = convert.text_of(request.city, "city", 100) if request.HasField("city") else ""
        preferred_start, preferred_end = convert.window_in(
            request.preferred_window, "preferred_window"
        )
        for name, value in (
            ("max_practitioners", request.max_practitioners),
            ("slots_per_practitioner", request.slots_per_practitioner),
        ):
            if value > MAX_MATCHES:
                raise invalid(name, f"must be at most {MAX_MATCHES}")
        query = MatchQuery(
            urgency=urgency,
            now=self._clock(),
            specialty=specialty,
            language=language,
            city=city,
            latitude=latitude,
            longitude=longitude,
            preferred_start=preferred_start,
            preferred_end=preferred_end,
            max_practitioners=request.max_practitioners or 3,
            slots_per_practitioner=request.slots_per_practitioner or 3,
        )
        directory = await self._dir()
        window = allowed_window(query)
        candidates: list[Candidate] = []
        if window is not None:
            wanted = specialty or Specialty.GENERAL_PRACTICE
            eligible = [
                p
                for p in directory.practitioners.values()
                if p.active
                and (wanted in p.specialties or Specialty.GENERAL_PRACTICE in p.specialties)
            ]
            slots = await self._free_slots(
                eligible, directory, window[0], window[1], enough=query.slots_per_practitioner
            )
            candidates = [
                Candidate(p, directory.practices[p.practice_id], slots[p.id]) for p in eligible
            ]
        result = match(query, candidates)
        response = pb.MatchResponse(
            outcome=pb.MatchOutcome.ValueType(result.outcome.value),
            advice=advice(result, query, language or "en"),
        )
        for ranked in result.matches:
            offered = pb.PractitionerMatch(
                practitioner=convert.practitioner_out(ranked.practitioner, with_links=False),
                practice=convert.practice_out(ranked.practice),
                earliest_slots=[convert.slot_out(s) for s in ranked.earliest_slots],
                score=ranked.score,
            )
            if ranked.distance_km is not None:
                offered.distance_km = round(ranked.distance_km, 1)
            response.matches.append(offered)
        if result.outcome == MatchOutcome.NOT_BOOKABLE:
            del response.matches[:]
        return response

    @answering
    async def ListSlots(  # noqa: N802 - gRPC method name
        self, request: pb.ListSlotsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListSlotsResponse:
        """List free slots of a practitioner or specialty in a window, soonest first."""
        await self._callers.authenticate(context)
        start, end = convert.window_in(request.window, "window")
        if start is None or end is None:
            raise invalid("window", "needs both a start and an end", "missing_field")
        if end - start > MAX_SLOT_WINDOW:
            raise invalid("window", "must be at most 31 days long")
        start = max(start, self._clock())
        language = convert.language_in(request.language)
        city = convert.text_of(request.city, "city", 100)
        offset, size = page_of(request.page)
        directory = await self._dir()
        offered_by = request.WhichOneof("offered_by")
        if offered_by == "practitioner_id":
            practitioner_id = convert.uuid_of(request.practitioner_id, "practitioner_id")
            found = directory.practitioners.get(practitioner_id)
            if found is None:
                raise NotFound("no such practitioner")
            chosen = [found] if found.active else []
        elif offered_by == "specialty":
            specialty = convert.specialty_in(request.specialty)
            chosen = [
                p
                for p in directory.practitioners.values()
                if p.active and (specialty is None or specialty in p.specialties)
            ]
        else:
            raise invalid("offered_by", "set practitioner_id or specialty", "missing_field")
        chosen = [
            p
            for p in chosen
            if (not language or language in p.languages)
            and (not city or same_city(city, directory.practices[p.practice_id].city))
        ]
        slots: list[Slot] = []
        if start < end and chosen:
            for found_slots in (await self._free_slots(chosen, directory, start, end)).values():
                slots.extend(found_slots)
        slots.sort(key=lambda s: (s.start, str(s.practitioner_id)))
        page = slots[offset : offset + size]
        return pb.ListSlotsResponse(
            slots=[convert.slot_out(s) for s in page],
            page_info=next_page(offset, size, len(slots) > offset + size),
        )

    # --- bookings -------------------------------------------------------------------------------

    @answering
    async def Book(  # noqa: N802 - gRPC method name
        self, request: pb.BookRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.BookResponse:
        """Book a free slot for a patient, once per idempotency key."""
        scope = await self._scope(context)
        key = convert.key_of(request.idempotency_key)
        SlotId.decode(request.slot_id)  # a malformed id is refused before anything else
        if scope.subject is not None:
            if request.patient_subject and request.patient_subject != scope.subject:
                raise PermissionDenied("patients book for themselves only")
            patient = scope.subject
        elif request.patient_subject:
            patient = convert.subject_of(request.patient_subject, "patient_subject")
        else:
            raise invalid(
                "patient_subject", "is required when booking for a patient", "missing_field"
            )
        reason = convert.text_of(request.reason, "reason")
        urgency = convert.urgency_in(request.urgency)
        language = convert.language_in(request.language) or "en"
        assessment = (
            convert.uuid_of(request.triage_assessment_id, "triage_assessment_id")
            if request.triage_assessment_id
            else None
        )
        if urgency is not None and urgency.is_emergency:
            raise FailedPrecondition(
                "emergency levels are never booked: call emergency services now"
            )
        directory = await self._dir()
        if not await self._repository.has_idempotency_key(key):
            practitioner, start, end = await self._offered_slot(
                directory, request.slot_id, "slot_id"
            )
            if (
                not scope.everything
                and scope.practices is not None
                and not scope.sees_practice(practitioner.practice_id)
            ):
                raise PermissionDenied("clinicians book in their own practice only")
            if (
                urgency is not None
                and start > self._clock() + URGENT_HORIZON
                and urgency == UrgencyLevel.CONSULTATION_24
            ):
                raise FailedPrecondition(
                    "an urgent consultation must start within 24 hours; choose an earlier slot"
                )
        practitioner_id, start, end = SlotId.decode(request.slot_id)
        contact = ""
        if scope.principal is not None and scope.subject == patient:
            email = scope.principal.claims.get("email")
            if isinstance(email, str) and scope.principal.claims.get("email_verified") is True:
                contact = email
        booking = BookingRequest(
            patient_subject=patient,
            practitioner_id=practitioner_id,
            start=start,
            end=end,
            created_by=scope.actor,
            reason=reason,
            urgency=urgency,
            triage_assessment_id=assessment,
            contact_email=contact,
            contact_language=language,
        )
        try:
            appointment, replayed = await self._repository.book(
                booking, idempotency_key=key, now=self._clock()
            )
        except SlotTakenError:
            BOOKINGS.labels("book", "slot_taken").inc()
            raise FailedPrecondition("the slot is no longer free") from None
        except IdempotencyKeyReusedError:
            BOOKINGS.labels("book", "key_reused").inc()
            raise invalid(
                "idempotency_key", "was already used for a different request", "key_reused"
            ) from None
        BOOKINGS.labels("book", "replayed" if replayed else "booked").inc()
        if not replayed:
            self._on_change()
        if not self._visible(scope, appointment, directory):
            # A key replayed by someone else must not reveal the first caller's appointment.
            raise invalid(
                "idempotency_key", "was already used for a different request", "key_reused"
            )
        return pb.BookResponse(
            appointment=self._appointment_out(directory, appointment), replayed=replayed
        )

    @answering
    async def Cancel(  # noqa: N802 - gRPC method name
        self, request: pb.CancelRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.CancelResponse:
        """Cancel an appointment the caller may manage; its slot is free at once."""
        scope = await self._scope(context)
        key = convert.key_of(request.idempotency_key)
        reason = convert.text_of(request.reason, "reason")
        directory = await self._dir()
        appointment = await self._appointment(scope, request.appointment_id, directory)
        code = (
            CancellationReason.PATIENT_REQUEST
            if scope.subject is not None
            else CancellationReason.OTHER
        )
        try:
            cancelled, replayed = await self._repository.cancel(
                appointment.id,
                reason=reason,
                idempotency_key=key,
                cancelled_by=scope.actor,
                now=self._clock(),
                reason_code=code,
            )
        except IdempotencyKeyReusedError:
            raise invalid(
                "idempotency_key", "was already used for a different request", "key_reused"
            ) from None
        except AppointmentStateError as error:
            raise FailedPrecondition(str(error)) from None
        except AppointmentNotFoundError:
            raise NotFound("no such appointment") from None
        BOOKINGS.labels("cancel", "replayed" if replayed else "cancelled").inc()
        self._on_change()
        return pb.CancelResponse(
            appointment=self._appointment_out(directory, cancelled), replayed=replayed
        )

    @answering
    async def Reschedule(  # noqa: N802 - gRPC method name
        self, request: pb.RescheduleRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.RescheduleResponse:
        """Move an appointment to another free slot, keeping its id."""
        scope = await self._scope(context)
        key = convert.key_of(request.idempotency_key)
        directory = await self._dir()
        appointment = await self._appointment(scope, request.appointment_id, directory)
        if not await self._repository.has_idempotency_key(key):
            if appointment.status != AppointmentStatus.BOOKED:
                raise FailedPrecondition("only a booked appointment can be moved")
            practitioner, start, end = await self._offered_slot(
                directory,
                request.new_slot_id,
                "new_slot_id",
            )
            if not scope.sees_practice(practitioner.practice_id) and scope.subject is None:
                raise PermissionDenied("clinicians move appointments within their practice only")
            if (
                appointment.urgency is not None
                and appointment.urgency == UrgencyLevel.CONSULTATION_24
                and start > self._clock() + URGENT_HORIZON
            ):
                raise FailedPrecondition(
                    "an urgent consultation must start within 24 hours; choose an earlier slot"
                )
        practitioner_id, start, end = SlotId.decode(request.new_slot_id, "new_slot_id")
        try:
            moved, replayed = await self._repository.reschedule(
                appointment.id,
                practitioner_id=practitioner_id,
                start=start,
                end=end,
                idempotency_key=key,
                now=self._clock(),
            )
        except SlotTakenError:
            BOOKINGS.labels("reschedule", "slot_taken").inc()
            raise FailedPrecondition("the slot is no longer free") from None
        except IdempotencyKeyReusedError:
            raise invalid(
                "idempotency_key", "was already used for a different request", "key_reused"
            ) from None
        except AppointmentStateError as error:
            raise FailedPrecondition(str(error)) from None
        BOOKINGS.labels("reschedule", "replayed" if replayed else "rescheduled").inc()
        if not replayed:
            self._on_change()
        return pb.RescheduleResponse(
            appointment=self._appointment_out(directory, moved), replayed=replayed
        )

    @answering
    async def RecordAttendance(  # noqa: N802 - gRPC method name
        self, request: pb.RecordAttendanceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.RecordAttendanceResponse:
        """Mark an appointment fulfilled or no-show (the practice's staff)."""
        scope = await self._scope(context)
        if not scope.staff:
            raise PermissionDenied("attendance is recorded by the practice")
        directory = await self._dir()
        appointment = await self._appointment(scope, request.appointment_id, directory)
        if request.attendance == pb.ATTENDANCE_ATTENDED:
            status = AppointmentStatus.FULFILLED
        elif request.attendance == pb.ATTENDANCE_NO_SHOW:
            status = AppointmentStatus.NO_SHOW
            if appointment.start > self._clock():
                raise FailedPrecondition("a patient can only miss an appointment once it started")
        else:
            raise invalid("attendance", "must be attended or no_show", "missing_field")
        try:
            marked = await self._repository.record_attendance(
                appointment.id, status, now=self._clock()
            )
        except AppointmentStateError as error:
            raise FailedPrecondition(str(error)) from None
        return pb.RecordAttendanceResponse(appointment=self._appointment_out(directory, marked))

    @answering
    async def GetAppointment(  # noqa: N802 - gRPC method name
        self, request: pb.GetAppointmentRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetAppointmentResponse:
        """Return one appointment the caller may see, with practitioner and practice."""
        scope = await self._scope(context)
        directory = await self._dir()
        appointment = await self._appointment(scope, request.appointment_id, directory)
        response = pb.GetAppointmentResponse(
            appointment=self._appointment_out(directory, appointment)
        )
        practitioner = directory.practitioners.get(appointment.practitioner_id)
        if practitioner is not None:
            response.practitioner.CopyFrom(
                convert.practitioner_out(practitioner, with_links=scope.staff)
            )
            practice = directory.practices.get(practitioner.practice_id)
            if practice is not None:
                response.practice.CopyFrom(convert.practice_out(practice))
        return response

    @answering
    async def ListAppointments(  # noqa: N802 - gRPC method name
        self, request: pb.ListAppointmentsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListAppointmentsResponse:
        """List the appointments the caller may see, by start time."""
        scope = await self._scope(context)
        offset, size = page_of(request.page)
        start, end = convert.window_in(request.window, "window")
        patient = (
            convert.subject_of(request.patient_subject, "patient_subject")
            if request.patient_subject
            else None
        )
        practitioner_ids = (
            frozenset({convert.uuid_of(request.practitioner_id, "practitioner_id")})
            if request.practitioner_id
            else None
        )
        practice_ids = (
            frozenset({convert.uuid_of(request.practice_id, "practice_id")})
            if request.practice_id
            else None
        )
        statuses = frozenset(convert.status_in(s) for s in request.statuses)
        if scope.subject is not None:
            if patient is not None and patient != scope.subject:
                raise PermissionDenied("patients list their own appointments only")
            patient = scope.subject
        elif scope.practices is not None:
            practice_ids = (
                scope.practices if practice_ids is None else practice_ids & scope.practices
            )
        where = AppointmentFilter(
            patient_subject=patient,
            practitioner_ids=practitioner_ids,
            practice_ids=practice_ids,
            statuses=statuses,
            start=start,
            end=end,
        )
        directory = await self._dir()
        found, more = await self._repository.list_appointments(where, offset=offset, limit=size)
        return pb.ListAppointmentsResponse(
            appointments=[self._appointment_out(directory, a) for a in found],
            page_info=next_page(offset, size, more),
        )

    # --- time expressions -------------------------------------------------------------------

    @answering
    async def ResolveTimeExpression(  # noqa: N802 - gRPC method name
        self,
        request: pb.ResolveTimeExpressionRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> pb.ResolveTimeExpressionResponse:
        """Resolve a spoken time preference to a window in a timezone."""
        await self._callers.authenticate(context)
        if not request.text.strip():
            raise invalid("text", "is required", "missing_field")
        text = convert.text_of(request.text, "text", MAX_TEXT_EXPRESSION)
        timezone = request.timezone or self._default_timezone
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise invalid("timezone", "is not an IANA timezone") from None
        language = convert.language_in(request.language)
        if language == "ur":
            raise invalid("language", "time expressions are understood in English and French")
        now = (
            request.reference_time.ToDatetime(UTC)
            if request.HasField("reference_time")
            else self._clock()
        )
        # dateparser is pure Python and can take milliseconds: keep it off the event loop.
        window = await asyncio.to_thread(
            resolve_time_expression, text, now=now, timezone=timezone, language=language or None
        )
        if window is None:
            return pb.ResolveTimeExpressionResponse(resolved=False, timezone=timezone)
        return pb.ResolveTimeExpressionResponse(
            resolved=True,
            window=convert.window_out(window.start, window.end),
            timezone=timezone,
            matched_text=text[window.span[0] : window.span[1]],
        )


def registrar(
    repository: PostgresSchedulingRepository,
    callers: Callers,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    default_timezone: str = "Europe/Paris",
    on_change: Callable[[], None] = lambda: None,
) -> Register:
    """Return the function that adds SchedulingService to a server."""
    servicer = SchedulingServicer(
        repository,
        callers,
        clock=clock,
        default_timezone=default_timezone,
        on_change=on_change,
    )

    def register(server: grpc.aio.Server) -> Sequence[str]:
        scheduling_pb2_grpc.add_SchedulingServiceServicer_to_server(servicer, server)
        return (SERVICE.full_name,)

    return register
