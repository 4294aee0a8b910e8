"""What every SchedulingService RPC shares: who the caller is, the clinic directory, slots.

Who may see what is decided here, not only at the gateway (issue #4): the caller is the user
whose access token the gateway forwards. Patients (guests included) book for themselves and
read, cancel and move only their own appointments; a clinician reads and manages those of the
practices where they work (linked through their practitioner record: user id, or verified work
e-mail on first use); admins everything. An appointment the caller may not see answers
NOT_FOUND, exactly like one that does not exist, so ids cannot be probed. With
`Callers.unverified` (dev and test only) the request is trusted as it stands.

Practitioners and practices change rarely and are read on every search, so each process keeps
them for a few seconds (`DIRECTORY_SECONDS`), and forgets them at once when it changes them.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import grpc
from voiceassist.common.v1 import paging_pb2
from voiceassist.scheduling.v1 import scheduling_pb2 as pb
from voiceassist.scheduling.v1 import scheduling_pb2_grpc
from voiceassist_common.errors import FailedPrecondition, NotFound
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.tokens import Principal, Role

from voiceassist_scheduling.adapters.repository import (
    MAX_PAGE_SIZE,
    PostgresSchedulingRepository,
)
from voiceassist_scheduling.domain.model import (
    Appointment,
    Practice,
    Practitioner,
    Slot,
)
from voiceassist_scheduling.domain.slots import free_slots
from voiceassist_scheduling.handlers import convert
from voiceassist_scheduling.handlers.convert import SlotId, invalid

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DIRECTORY_SECONDS",
    "Directory",
    "Scope",
    "ServicerBase",
    "next_page",
    "page_of",
]

DIRECTORY_SECONDS = 5.0
DEFAULT_PAGE_SIZE = 50
SEARCH_CHUNK = timedelta(days=7)
"""Match looks for earliest slots a week at a time, and stops once it has enough."""


@dataclass
class Directory:
    """Practices and practitioners as of `loaded` (monotonic seconds)."""

    practices: dict[UUID, Practice]
    practitioners: dict[UUID, Practitioner]
    loaded: float


@dataclass(frozen=True)
class Scope:
    """What the caller may see: everything, a clinician's practices, or a patient's own."""

    principal: Principal | None
    admin: bool = False
    practices: frozenset[UUID] | None = None
    """A clinician's practices; None unless the caller is a clinician (and not an admin)."""
    subject: str | None = None
    """A patient's own subject; None unless the caller is a patient or guest."""

    @property
    def everything(self) -> bool:
        """Whether the caller sees everything (an admin, or an unverified dev/test call)."""
        return self.principal is None or self.admin

    @property
    def actor(self) -> str:
        """Return who acts, as recorded in ``created_by``."""
        return self.principal.subject if self.principal is not None else "service:unverified"

    @property
    def staff(self) -> bool:
        """Whether the caller works for the clinic (clinician or admin)."""
        return self.everything or self.practices is not None

    def sees_practice(self, practice_id: UUID) -> bool:
        """Whether the caller may see the appointments of ``practice_id``."""
        return self.everything or (self.practices is not None and practice_id in self.practices)


def page_of(page: paging_pb2.Pagination) -> tuple[int, int]:
    """Return (offset, size) of a Pagination; the token is the offset, base64-encoded."""
    size = page.page_size or DEFAULT_PAGE_SIZE
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise invalid("page.page_size", f"must be 1 to {MAX_PAGE_SIZE}")
    if not page.page_token:
        return 0, size
    try:
        offset = int(base64.urlsafe_b64decode(page.page_token.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise invalid("page.page_token", "is not a token from a previous page") from None
    if offset < 0:
        raise invalid("page.page_token", "is not a token from a previous page")
    return offset, size


def next_page(offset: int, size: int, more: bool) -> paging_pb2.PageInfo:
    """Return the PageInfo after a page of ``size`` from ``offset``."""
    if not more:
        return paging_pb2.PageInfo()
    token = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
    return paging_pb2.PageInfo(next_page_token=token)


class ServicerBase(scheduling_pb2_grpc.SchedulingServiceServicer):
    """The state and helpers every group of scheduling RPCs uses."""

    def __init__(
        self,
        repository: PostgresSchedulingRepository,
        callers: Callers,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        default_timezone: str = "Europe/Paris",
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._repository = repository
        self._callers = callers
        self._clock = clock
        self._default_timezone = default_timezone
        self._on_change = on_change
        """Called after a write that put an event in the outbox (pokes the relay)."""
        self._directory: Directory | None = None
        self._loading = asyncio.Lock()

    # --- shared -------------------------------------------------------------------------------

    async def _dir(self) -> Directory:
        current = self._directory
        if current is not None and time.monotonic() - current.loaded < DIRECTORY_SECONDS:
            return current
        async with self._loading:
            current = self._directory
            if current is not None and time.monotonic() - current.loaded < DIRECTORY_SECONDS:
                return current
            practices = await self._repository.list_practices()
            practitioners = await self._repository.list_practitioners(include_inactive=True)
            self._directory = Directory(
                {p.id: p for p in practices}, {p.id: p for p in practitioners}, time.monotonic()
            )
            return self._directory

    def _forget_directory(self) -> None:
        self._directory = None

    async def _scope(self, context: grpc.aio.ServicerContext[Any, Any]) -> Scope:
        principal = await self._callers.authenticate(context)
        if principal is None:
            return Scope(None)
        if principal.has_role(Role.ADMIN):
            return Scope(principal, admin=True)
        if (
            principal.has_role(Role.CLINICIAN)
            and principal.claims.get("voiceassist_guest") is not True
        ):
            email = principal.claims.get("email")
            verified = principal.claims.get("email_verified") is True
            practices = await self._repository.practices_of_clinician(
                principal.subject, email if isinstance(email, str) and verified else ""
            )
            return Scope(principal, practices=frozenset(practices))
        return Scope(principal, subject=principal.subject)

    def _visible(self, scope: Scope, appointment: Appointment, directory: Directory) -> bool:
        if scope.everything:
            return True
        if scope.subject is not None:
            return appointment.patient_subject == scope.subject
        practitioner = directory.practitioners.get(appointment.practitioner_id)
        return practitioner is not None and scope.sees_practice(practitioner.practice_id)

    async def _appointment(
        self, scope: Scope, raw_id: str, directory: Directory, field_name: str = "appointment_id"
    ) -> Appointment:
        appointment_id = convert.uuid_of(raw_id, field_name)
        appointment = await self._repository.get_appointment(appointment_id)
        if appointment is None or not self._visible(scope, appointment, directory):
            raise NotFound("no such appointment")
        return appointment

    def _timezone_of(self, directory: Directory, practitioner_id: UUID) -> str:
        practitioner = directory.practitioners.get(practitioner_id)
        practice = (
            None if practitioner is None else directory.practices.get(practitioner.practice_id)
        )
        return practice.timezone if practice is not None else self._default_timezone

    def _appointment_out(self, directory: Directory, appointment: Appointment) -> pb.Appointment:
        return convert.appointment_out(
            appointment, self._timezone_of(directory, appointment.practitioner_id)
        )

    async def _free_slots(
        self,
        practitioners: Sequence[Practitioner],
        directory: Directory,
        start: datetime,
        end: datetime,
        *,
        enough: int | None = None,
    ) -> dict[UUID, list[Slot]]:
        """Free slots of each practitioner in [start, end); with ``enough``, stop early."""
        ids = [p.id for p in practitioners]
        rules = await self._repository.availability_of(ids)
        found: dict[UUID, list[Slot]] = {pid: [] for pid in ids}
        chunk_start = start
        waiting = set(ids)
        while chunk_start < end and waiting:
            chunk_end = end if enough is None else min(end, chunk_start + SEARCH_CHUNK)
            busy = await self._repository.busy_of(sorted(waiting), chunk_start, chunk_end)
            for practitioner in practitioners:
                if practitioner.id not in waiting:
                    continue
                practice = directory.practices[practitioner.practice_id]
                found[practitioner.id].extend(
                    free_slots(
                        practitioner_id=practitioner.id,
                        rules=rules[practitioner.id],
                        timezone=practice.timezone,
                        window_start=chunk_start,
                        window_end=chunk_end,
                        busy=busy[practitioner.id],
                    )
                )
                if enough is not None and len(found[practitioner.id]) >= enough:
                    waiting.discard(practitioner.id)
            chunk_start = chunk_end
        return found

    async def _offered_slot(
        self,
        directory: Directory,
        raw_slot_id: str,
        field_name: str,
    ) -> tuple[Practitioner, datetime, datetime]:
        """Check that a slot id names a slot the practitioner's rules and exceptions offer.

        Booked appointments are not checked here: the database refuses an overlap, and a retry
        must find its own booking rather than a taken slot.
        """
        practitioner_id, start, end = SlotId.decode(raw_slot_id, field_name)
        practitioner = directory.practitioners.get(practitioner_id)
        if practitioner is None or not practitioner.active:
            raise FailedPrecondition("the slot is no longer offered")
        if start <= self._clock():
            raise FailedPrecondition("the slot has already started")
        practice = directory.practices[practitioner.practice_id]
        rules = (await self._repository.availability_of([practitioner_id]))[practitioner_id]
        exceptions = await self._repository.exceptions_of(practitioner_id, start)
        offered = free_slots(
            practitioner_id=practitioner_id,
            rules=rules,
            timezone=practice.timezone,
            window_start=start,
            window_end=end,
            busy=[(e.start, e.end) for e in exceptions],
        )
        if not any(slot.start == start and slot.end == end for slot in offered):
            raise FailedPrecondition("the slot is no longer offered")
        return practitioner, start, end
