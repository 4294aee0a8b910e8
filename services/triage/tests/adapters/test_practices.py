"""Triage learns a clinician's practice patients from scheduling, and refuses when it cannot.

A stand-in SchedulingService on a loopback port answers ListAppointments for the access token
it is given, as the real one does (tests/handlers/test_grpc_access.py runs the real one): the
adapter must forward the clinician's own token, read every page up to its cap, and turn any
failure into `Unavailable`, never into an answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY
from voiceassist.common.v1 import paging_pb2
from voiceassist.scheduling.v1 import scheduling_pb2 as pb
from voiceassist.scheduling.v1 import scheduling_pb2_grpc
from voiceassist_common.errors import Unavailable
from voiceassist_common.grpc.principal import bearer_token
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_localstack.ports import free_port
from voiceassist_triage.adapters.practices import SchedulingPracticeAccess

DR_MARTIN, DR_DUBOIS = "token-of-dr-martin", "token-of-dr-dubois"


def truncations() -> float:
    return REGISTRY.get_sample_value("voiceassist_triage_practice_patients_truncated_total") or 0.0


class StandInScheduling(scheduling_pb2_grpc.SchedulingServiceServicer):
    """Appointments by the clinician token that sees them; pages of offsets, as scheduling's."""

    def __init__(self) -> None:
        self.patients_by_token: dict[str, list[str]] = {
            DR_MARTIN: ["alice", "bob", "alice", "carol"],
            DR_DUBOIS: ["dave"],
        }
        self.calls = 0
        self.refusal: grpc.StatusCode | None = None

    async def ListAppointments(  # noqa: N802 - gRPC method name
        self, request: pb.ListAppointmentsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListAppointmentsResponse:
        self.calls += 1
        if self.refusal is not None:
            await context.abort(self.refusal, "refused")
        token = bearer_token(context.invocation_metadata()) or ""
        seen = [
            subject
            for subject in self.patients_by_token.get(token, [])
            if not request.patient_subject or subject == request.patient_subject
        ]
        offset = int(request.page.page_token or "0")
        size = request.page.page_size
        page = seen[offset : offset + size]
        more = offset + size < len(seen)
        return pb.ListAppointmentsResponse(
            appointments=[pb.Appointment(patient_subject=subject) for subject in page],
            page_info=paging_pb2.PageInfo(next_page_token=str(offset + size) if more else ""),
        )


@pytest.fixture
async def scheduling() -> AsyncIterator[tuple[StandInScheduling, str]]:
    # The stubs mark every RPC abstract so the real service handles each; this one needs one.
    servicer = StandInScheduling()  # type: ignore[abstract]

    def register(server: grpc.aio.Server) -> tuple[str, ...]:
        scheduling_pb2_grpc.add_SchedulingServiceServicer_to_server(servicer, server)
        return ("voiceassist.scheduling.v1.SchedulingService",)

    server = await start_grpc_server("127.0.0.1:0", register)
    try:
        yield servicer, f"127.0.0.1:{server.port}"
    finally:
        await server.stop(0)


@pytest.fixture
async def access(
    scheduling: tuple[StandInScheduling, str],
) -> AsyncIterator[SchedulingPracticeAccess]:
    practices = SchedulingPracticeAccess(scheduling[1], page_size=2)
    try:
        yield practices
    finally:
        await practices.close()


async def test_a_clinician_sees_the_patients_with_an_appointment_at_their_practice(
    access: SchedulingPracticeAccess,
) -> None:
    assert await access.sees_patient(DR_MARTIN, "bob")
    assert not await access.sees_patient(DR_MARTIN, "dave")
    assert await access.sees_patient(DR_DUBOIS, "dave")


async def test_the_practice_patients_are_read_across_every_page(
    access: SchedulingPracticeAccess, scheduling: tuple[StandInScheduling, str]
) -> None:
    assert await access.patients(DR_MARTIN) == {"alice", "bob", "carol"}
    assert scheduling[0].calls == 2
    assert await access.patients("token-of-nobody") == frozenset()


async def test_beyond_the_page_cap_the_answer_is_narrower_never_wider(
    scheduling: tuple[StandInScheduling, str],
) -> None:
    practices = SchedulingPracticeAccess(scheduling[1], page_size=1, max_pages=2)
    before = truncations()
    try:
        patients = await practices.patients(DR_MARTIN)
    finally:
        await practices.close()

    assert patients == {"alice", "bob"}
    assert truncations() == before + 1


async def test_a_subject_scheduling_could_not_hold_is_not_seen_without_asking(
    access: SchedulingPracticeAccess, scheduling: tuple[StandInScheduling, str]
) -> None:
    assert not await access.sees_patient(DR_MARTIN, "alice@example.org")
    assert not await access.sees_patient(DR_MARTIN, "")
    assert scheduling[0].calls == 0


@pytest.mark.parametrize(
    "refusal",
    [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INTERNAL],
)
async def test_any_refusal_by_scheduling_is_unavailable_never_an_answer(
    access: SchedulingPracticeAccess,
    scheduling: tuple[StandInScheduling, str],
    refusal: grpc.StatusCode,
) -> None:
    scheduling[0].refusal = refusal

    with pytest.raises(Unavailable, match="cannot check the clinician's practice"):
        await access.sees_patient(DR_MARTIN, "alice")
    with pytest.raises(Unavailable, match="cannot check the clinician's practice"):
        await access.patients(DR_MARTIN)


async def test_scheduling_down_is_unavailable() -> None:
    practices = SchedulingPracticeAccess(f"127.0.0.1:{free_port()}")
    try:
        with pytest.raises(Unavailable):
            await practices.sees_patient(DR_MARTIN, "alice")
        with pytest.raises(Unavailable):
            await practices.patients(DR_MARTIN)
    finally:
        await practices.close()
