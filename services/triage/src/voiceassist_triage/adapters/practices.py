"""Which patients a clinician's practice sees, asked of the scheduling service.

A clinician reads only the triage assessments of the patients of their practice (issue #5).
Triage does not know practices; scheduling does: a patient belongs to a clinician's practice
when they have an appointment (any status, any time) with a practitioner there. Scheduling's
``ListAppointments``, called with the clinician's own access token forwarded, answers exactly
those appointments (it works out the clinician's practices from the token), so triage asks it
and never decides on a practice itself.

Any doubt refuses: when scheduling cannot be reached, or answers anything but a list, the
check raises `Unavailable` and the read is refused with UNAVAILABLE; it never falls back to
"allow".

One grpc.aio channel for the process, opened on first use inside the serving event loop (a
channel belongs to the loop that created it) and closed at shutdown.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Protocol

import grpc
from opentelemetry.trace import TracerProvider
from prometheus_client import Counter
from voiceassist.common.v1 import paging_pb2
from voiceassist.scheduling.v1 import scheduling_pb2, scheduling_pb2_grpc
from voiceassist_common.errors import Unavailable
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.grpc.principal import bearer_metadata
from voiceassist_common.logging import safe

if TYPE_CHECKING:
    from voiceassist.scheduling.v1.scheduling_pb2_grpc import SchedulingServiceAsyncStub

__all__ = [
    "MAX_PAGES",
    "PAGE_SIZE",
    "PATIENTS_TRUNCATED",
    "PracticeAccess",
    "SchedulingPracticeAccess",
]

logger = logging.getLogger(__name__)

PAGE_SIZE = 500
"""Appointments asked for per ListAppointments page (scheduling's largest page)."""
MAX_PAGES = 20
"""Pages `patients` reads at most: the patients of a practice's first 10,000 appointments."""
CALL_SECONDS = 5.0
"""Deadline of one ListAppointments call."""

UNREACHABLE = "cannot check the clinician's practice right now"

# Scheduling's own rule for a subject (handlers/convert.py there): one it refuses cannot have an
# appointment, so there is no need to ask.
_SCHEDULABLE_SUBJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

PATIENTS_TRUNCATED = Counter(
    "voiceassist_triage_practice_patients_truncated",
    "Practice patient lookups that stopped at MAX_PAGES pages of appointments.",
)


class PracticeAccess(Protocol):
    """Answers which patients the clinician holding an access token sees through their practice."""

    async def sees_patient(self, access_token: str, patient_subject: str) -> bool:
        """Whether ``patient_subject`` has an appointment at the clinician's practice.

        Raises `Unavailable` when this cannot be checked right now.
        """
        ...

    async def patients(self, access_token: str) -> frozenset[str]:
        """Return the subjects of the patients with an appointment at the clinician's practice.

        Raises `Unavailable` when this cannot be checked right now.
        """
        ...


class SchedulingPracticeAccess:
    """`PracticeAccess` over the scheduling service's ListAppointments."""

    def __init__(
        self,
        address: str,
        *,
        tracer_provider: TracerProvider | None = None,
        call_seconds: float = CALL_SECONDS,
        page_size: int = PAGE_SIZE,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self.address = address
        self._tracer_provider = tracer_provider
        self._call_seconds = call_seconds
        self._page_size = page_size
        self._max_pages = max_pages
        self._channel: grpc.aio.Channel | None = None
        self._stub: SchedulingServiceAsyncStub | None = None

    @property
    def _scheduling(self) -> SchedulingServiceAsyncStub:
        if self._stub is None:
            self._channel = create_channel(self.address, tracer_provider=self._tracer_provider)
            self._stub = scheduling_pb2_grpc.SchedulingServiceStub(self._channel)
        return self._stub

    async def sees_patient(self, access_token: str, patient_subject: str) -> bool:
        """Whether ``patient_subject`` has an appointment at the clinician's practice."""
        if not _SCHEDULABLE_SUBJECT.match(patient_subject):
            return False
        request = scheduling_pb2.ListAppointmentsRequest(
            patient_subject=patient_subject, page=paging_pb2.Pagination(page_size=1)
        )
        reply = await self._list(request, access_token)
        return any(a.patient_subject == patient_subject for a in reply.appointments)

    async def patients(self, access_token: str) -> frozenset[str]:
        """Return the patients of the clinician's practice appointments.

        Reads at most ``max_pages`` pages of ``page_size`` appointments (by default `MAX_PAGES`
        of `PAGE_SIZE`, by start time, oldest first). Beyond that the answer is the patients
        found so far: narrower, never wider, so a listing may miss the patients of the newest
        appointments (counted in ``voiceassist_triage_practice_patients_truncated_total`` and
        logged); naming such a patient still works, through `sees_patient`.
        """
        subjects: set[str] = set()
        token = ""
        for _ in range(self._max_pages):
            request = scheduling_pb2.ListAppointmentsRequest(
                page=paging_pb2.Pagination(page_size=self._page_size, page_token=token)
            )
            reply = await self._list(request, access_token)
            subjects.update(a.patient_subject for a in reply.appointments)
            token = reply.page_info.next_page_token
            if not token:
                return frozenset(subjects)
        PATIENTS_TRUNCATED.inc()
        logger.warning(
            "practice patients read from the first %d appointments only; listing is narrowed",
            self._max_pages * self._page_size,
        )
        return frozenset(subjects)

    async def _list(
        self, request: scheduling_pb2.ListAppointmentsRequest, access_token: str
    ) -> scheduling_pb2.ListAppointmentsResponse:
        try:
            reply: scheduling_pb2.ListAppointmentsResponse = (
                await self._scheduling.ListAppointments(
                    request, metadata=bearer_metadata(access_token), timeout=self._call_seconds
                )
            )
        except grpc.aio.AioRpcError as error:
            # Whatever the reason (down, slow, the token refused there, a bug), the practice is
            # unknown, and an unknown practice sees nobody.
            logger.warning("scheduling refused a practice check: %s", safe(error.code().name))
            raise Unavailable(UNREACHABLE) from None
        return reply

    async def close(self) -> None:
        """Close the channel, if one was opened; the next use opens a new one."""
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close(grace=None)
