"""The clinic side of SchedulingService: practices, practitioners, availability, calendars.

Reads are open to every signed-in caller (account links only to staff); changes are for admins.
Calendars go to whoever may see the appointment, feeds to the practice's staff.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import grpc
from voiceassist.scheduling.v1 import scheduling_pb2 as pb
from voiceassist_common.errors import NotFound, PermissionDenied
from voiceassist_common.grpc.problems import answering

from voiceassist_scheduling.adapters.repository import (
    MAX_PAGE_SIZE,
    AppointmentFilter,
)
from voiceassist_scheduling.domain import ical
from voiceassist_scheduling.domain.matching import (
    same_city,
)
from voiceassist_scheduling.domain.model import (
    AppointmentStatus,
    AvailabilityException,
    AvailabilityRule,
    Practitioner,
)
from voiceassist_scheduling.handlers import convert
from voiceassist_scheduling.handlers.base import (
    Directory,
    Scope,
    ServicerBase,
    next_page,
    page_of,
)
from voiceassist_scheduling.handlers.convert import invalid

__all__ = ["ClinicRpcs"]


class ClinicRpcs(ServicerBase):
    """Practices, practitioners and their availability (admins change them), and calendars."""

    # --- practices and practitioners ----------------------------------------------------------

    @answering
    async def ListPractices(  # noqa: N802 - gRPC method name
        self, request: pb.ListPracticesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListPracticesResponse:
        """List practices by name."""
        await self._callers.authenticate(context)
        offset, size = page_of(request.page)
        city = convert.text_of(request.city, "city", 100)
        directory = await self._dir()
        practices = sorted(
            (p for p in directory.practices.values() if not city or same_city(city, p.city)),
            key=lambda p: (p.name, str(p.id)),
        )
        return pb.ListPracticesResponse(
            practices=[convert.practice_out(p) for p in practices[offset : offset + size]],
            page_info=next_page(offset, size, len(practices) > offset + size),
        )

    @answering
    async def GetPractitioner(  # noqa: N802 - gRPC method name
        self, request: pb.GetPractitionerRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetPractitionerResponse:
        """Return a practitioner with their availability and exceptions."""
        scope = await self._scope(context)
        practitioner_id = convert.uuid_of(request.practitioner_id, "practitioner_id")
        directory = await self._dir()
        practitioner = directory.practitioners.get(practitioner_id)
        if practitioner is None:
            practitioner = await self._repository.get_practitioner(practitioner_id)
        if practitioner is None or (not practitioner.active and not scope.staff):
            raise NotFound("no such practitioner")
        practice = directory.practices.get(
            practitioner.practice_id
        ) or await self._repository.get_practice(practitioner.practice_id)
        rules = (await self._repository.availability_of([practitioner_id]))[practitioner_id]
        exceptions = await self._repository.exceptions_of(practitioner_id, self._clock())
        response = pb.GetPractitionerResponse(
            practitioner=convert.practitioner_out(practitioner, with_links=scope.everything),
            weekly_availability=[convert.rule_out(r) for r in rules],
            exceptions=[convert.exception_out(e) for e in exceptions],
        )
        if practice is not None:
            response.practice.CopyFrom(convert.practice_out(practice))
        return response

    @answering
    async def ListPractitioners(  # noqa: N802 - gRPC method name
        self, request: pb.ListPractitionersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListPractitionersResponse:
        """List practitioners by name."""
        scope = await self._scope(context)
        offset, size = page_of(request.page)
        specialty = convert.specialty_in(request.specialty)
        language = convert.language_in(request.language)
        city = convert.text_of(request.city, "city", 100)
        if request.include_inactive and not scope.everything:
            raise PermissionDenied("only admins list inactive practitioners")
        directory = await self._dir()
        chosen = sorted(
            (
                p
                for p in directory.practitioners.values()
                if (p.active or request.include_inactive)
                and (specialty is None or specialty in p.specialties)
                and (not language or language in p.languages)
                and (not city or same_city(city, directory.practices[p.practice_id].city))
            ),
            key=lambda p: (p.display_name, str(p.id)),
        )
        return pb.ListPractitionersResponse(
            practitioners=[
                convert.practitioner_out(p, with_links=scope.everything)
                for p in chosen[offset : offset + size]
            ],
            page_info=next_page(offset, size, len(chosen) > offset + size),
        )

    async def _admin(self, context: grpc.aio.ServicerContext[Any, Any]) -> Scope:
        scope = await self._scope(context)
        if not scope.everything:
            raise PermissionDenied("only admins manage practitioners")
        return scope

    def _practitioner_in(
        self, message: pb.Practitioner, directory: Directory, practitioner_id: UUID
    ) -> Practitioner:
        name = message.display_name.strip()
        if not name or len(name) > 200 or not name.isprintable():
            raise invalid("practitioner.display_name", "must be 1 to 200 printable characters")
        specialties = tuple(
            dict.fromkeys(
                s
                for s in (
                    convert.specialty_in(v, "practitioner.specialties") for v in message.specialties
                )
                if s is not None
            )
        )
        if not specialties:
            raise invalid(
                "practitioner.specialties", "needs at least one specialty", "missing_field"
            )
        languages = tuple(
            dict.fromkeys(
                convert.language_in(v, "practitioner.languages") for v in message.languages
            )
        )
        languages = tuple(code for code in languages if code)
        if not languages:
            raise invalid("practitioner.languages", "needs at least one language", "missing_field")
        practice_id = convert.uuid_of(message.practice_id, "practitioner.practice_id")
        if practice_id not in directory.practices:
            raise invalid("practitioner.practice_id", "is not a known practice")
        email = message.email.strip()
        if email and (len(email) > 254 or "@" not in email or not email.isprintable()):
            raise invalid("practitioner.email", "must be an e-mail address")
        user_id = message.user_id
        if user_id:
            convert.subject_of(user_id, "practitioner.user_id")
        return Practitioner(
            id=practitioner_id,
            display_name=name,
            specialties=specialties,
            languages=languages,
            practice_id=practice_id,
            active=message.active,
            user_id=user_id,
            email=email,
        )

    @answering
    async def CreatePractitioner(  # noqa: N802 - gRPC method name
        self, request: pb.CreatePractitionerRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.CreatePractitionerResponse:
        """Register a practitioner (admins)."""
        await self._admin(context)
        directory = await self._dir()
        practitioner = self._practitioner_in(request.practitioner, directory, uuid4())
        # A new practitioner starts active (a proto bool cannot say "unset"); deactivate with
        # UpdatePractitioner.
        practitioner = Practitioner(**{**practitioner.__dict__, "active": True})
        stored = await self._repository.add_practitioner(practitioner)
        self._forget_directory()
        return pb.CreatePractitionerResponse(
            practitioner=convert.practitioner_out(stored, with_links=True)
        )

    @answering
    async def UpdatePractitioner(  # noqa: N802 - gRPC method name
        self, request: pb.UpdatePractitionerRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.UpdatePractitionerResponse:
        """Change the fields of a practitioner the mask names (admins)."""
        await self._admin(context)
        practitioner_id = convert.uuid_of(
            request.practitioner.practitioner_id, "practitioner.practitioner_id"
        )
        current = await self._repository.get_practitioner(practitioner_id)
        if current is None:
            raise NotFound("no such practitioner")
        paths = set(request.update_mask.paths)
        allowed = {
            "display_name",
            "specialties",
            "languages",
            "practice_id",
            "active",
            "user_id",
            "email",
        }
        if not paths:
            raise invalid("update_mask", "names no field to change", "missing_field")
        if paths - allowed:
            raise invalid("update_mask", f"may name only {', '.join(sorted(allowed))}")
        merged = pb.Practitioner()
        merged.CopyFrom(convert.practitioner_out(current, with_links=True))
        for path in paths:
            if path in ("specialties", "languages"):
                target = getattr(merged, path)
                del target[:]
                target.extend(getattr(request.practitioner, path))
            else:
                setattr(merged, path, getattr(request.practitioner, path))
        directory = await self._dir()
        updated = self._practitioner_in(merged, directory, practitioner_id)
        stored = await self._repository.add_practitioner(updated)
        self._forget_directory()
        return pb.UpdatePractitionerResponse(
            practitioner=convert.practitioner_out(stored, with_links=True)
        )

    @answering
    async def SetWeeklyAvailability(  # noqa: N802 - gRPC method name
        self,
        request: pb.SetWeeklyAvailabilityRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> pb.SetWeeklyAvailabilityResponse:
        """Replace a practitioner's weekly rules (admins)."""
        await self._admin(context)
        practitioner_id = convert.uuid_of(request.practitioner_id, "practitioner_id")
        if await self._repository.get_practitioner(practitioner_id) is None:
            raise NotFound("no such practitioner")
        parsed = [convert.rule_in(rule, f"rules[{i}]") for i, rule in enumerate(request.rules)]
        by_day: dict[int, list[tuple[Any, Any, int]]] = {}
        for index, (weekday, start, end, _) in enumerate(parsed):
            for other_start, other_end, other in by_day.get(weekday, []):
                if start < other_end and other_start < end:
                    raise invalid(f"rules[{index}]", f"overlaps rules[{other}] on the same day")
            by_day.setdefault(weekday, []).append((start, end, index))
        types = await self._repository.appointment_types()
        rules = []
        for weekday, start, end, minutes in parsed:
            code = next((c for c, m in types.items() if m == minutes), f"consultation_{minutes}min")
            if code not in types:
                await self._repository.ensure_appointment_type(
                    code, f"{minutes}-minute consultation", minutes
                )
                types[code] = minutes
            rules.append(AvailabilityRule(weekday, start, end, code, minutes))
        await self._repository.set_weekly_availability(practitioner_id, rules)
        stored = await self._repository.weekly_availability(practitioner_id)
        return pb.SetWeeklyAvailabilityResponse(rules=[convert.rule_out(r) for r in stored])

    @answering
    async def AddAvailabilityException(  # noqa: N802 - gRPC method name
        self,
        request: pb.AddAvailabilityExceptionRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> pb.AddAvailabilityExceptionResponse:
        """Block a period of a practitioner's availability (admins)."""
        await self._admin(context)
        practitioner_id = convert.uuid_of(request.practitioner_id, "practitioner_id")
        if await self._repository.get_practitioner(practitioner_id) is None:
            raise NotFound("no such practitioner")
        start, end = convert.window_in(request.exception.window, "exception.window")
        if start is None or end is None:
            raise invalid("exception.window", "needs both a start and an end", "missing_field")
        kind = convert.kind_in(request.exception.kind)
        note = convert.text_of(request.exception.note, "exception.note", 200)
        exception = AvailabilityException(uuid4(), practitioner_id, start, end, kind, note)
        await self._repository.add_exception(exception)
        conflicts = await self._repository.booked_in_window(start, end, practitioner_id)
        return pb.AddAvailabilityExceptionResponse(
            exception=convert.exception_out(exception),
            conflicting_appointment_ids=[str(a.id) for a in conflicts],
        )

    # --- calendars -----------------------------------------------------------------------------

    @answering
    async def GetAppointmentCalendar(  # noqa: N802 - gRPC method name
        self, request: pb.GetAppointmentCalendarRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetAppointmentCalendarResponse:
        """Return an appointment as an iCalendar file."""
        scope = await self._scope(context)
        directory = await self._dir()
        appointment = await self._appointment(scope, request.appointment_id, directory)
        practitioner = directory.practitioners[appointment.practitioner_id]
        practice = directory.practices[practitioner.practice_id]
        language = convert.language_in(request.language) or "en"
        content = ical.appointment_calendar(appointment, practitioner, practice, language=language)
        calendar = pb.CalendarFile(
            content=content,
            filename=f"appointment-{appointment.id}.ics",
            media_type="text/calendar; charset=utf-8",
        )
        return pb.GetAppointmentCalendarResponse(calendar=calendar)

    @answering
    async def GetPractitionerCalendar(  # noqa: N802 - gRPC method name
        self,
        request: pb.GetPractitionerCalendarRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> pb.GetPractitionerCalendarResponse:
        """Return a practitioner's bookings as an iCalendar feed, naming no patient."""
        scope = await self._scope(context)
        practitioner_id = convert.uuid_of(request.practitioner_id, "practitioner_id")
        directory = await self._dir()
        practitioner = directory.practitioners.get(practitioner_id)
        if practitioner is None or not scope.sees_practice(practitioner.practice_id):
            raise NotFound("no such practitioner")
        now = self._clock()
        start, end = convert.window_in(request.window, "window")
        start = start or now - timedelta(days=7)
        end = end or now + timedelta(weeks=8)
        found, _ = await self._repository.list_appointments(
            AppointmentFilter(
                practitioner_ids=frozenset({practitioner_id}),
                statuses=frozenset({AppointmentStatus.BOOKED}),
                start=start,
                end=end,
            ),
            limit=MAX_PAGE_SIZE,
        )
        practice = directory.practices[practitioner.practice_id]
        calendar = pb.CalendarFile(
            content=ical.practitioner_feed(practitioner, practice, found),
            filename=f"practitioner-{practitioner_id}.ics",
            media_type="text/calendar; charset=utf-8",
        )
        return pb.GetPractitionerCalendarResponse(calendar=calendar)
