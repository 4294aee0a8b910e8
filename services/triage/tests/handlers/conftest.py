"""Fixtures: the real TriageService on a loopback port, over the real engine.

The server is the one every service runs (`start_grpc_server`, with the shared interceptors), the
engine is the real one over the real knowledge base; only the assessment store (in memory) and
the event publisher (a recorder) stand in for PostgreSQL and NATS, which tests/adapters and
tests/test_server.py exercise for real.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from voiceassist.triage.v1 import triage_pb2_grpc
from voiceassist_common.events import TriageCompleted
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_triage.adapters.repository import InMemoryAssessmentRepository
from voiceassist_triage.domain.engine import TriageEngine
from voiceassist_triage.domain.knowledge import load_knowledge
from voiceassist_triage.handlers.grpc import TriageServicer


@pytest.fixture(scope="session")
def engine() -> TriageEngine:
    return TriageEngine(load_knowledge(), max_questions=20)


@dataclass
class RecordedOutcomes:
    """An OutcomePublisher that keeps what it is given."""

    events: list[TriageCompleted] = field(default_factory=list)

    async def completed(self, event: TriageCompleted) -> None:
        self.events.append(event)


class TickingClock:
    """A clock that moves one minute per reading, so assessments have distinct times."""

    def __init__(self, start: datetime = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@dataclass
class TriageService:
    """The running service and what stands behind it."""

    stub: triage_pb2_grpc.TriageServiceStub
    repository: InMemoryAssessmentRepository
    outcomes: RecordedOutcomes
    clock: TickingClock


ServeTriage = Callable[[TriageServicer], Awaitable[triage_pb2_grpc.TriageServiceStub]]


@pytest.fixture
async def serve_triage() -> AsyncIterator[ServeTriage]:
    """Serve a servicer on a loopback port; the stub is connected to it until the test ends."""
    async with contextlib.AsyncExitStack() as stack:

        async def serve(servicer: TriageServicer) -> triage_pb2_grpc.TriageServiceStub:
            def register(server: grpc.aio.Server) -> tuple[str, ...]:
                triage_pb2_grpc.add_TriageServiceServicer_to_server(servicer, server)
                return ("voiceassist.triage.v1.TriageService",)

            server = await start_grpc_server("127.0.0.1:0", register)
            stack.push_async_callback(server.stop, 0)
            channel = await stack.enter_async_context(create_channel(f"127.0.0.1:{server.port}"))
            return triage_pb2_grpc.TriageServiceStub(channel)

        yield serve


@pytest.fixture
def outcomes() -> RecordedOutcomes:
    return RecordedOutcomes()


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


@pytest.fixture
async def triage(
    engine: TriageEngine, outcomes: RecordedOutcomes, clock: TickingClock, serve_triage: ServeTriage
) -> TriageService:
    repository = InMemoryAssessmentRepository()
    servicer = TriageServicer(
        engine, repository, outcomes, callers=Callers.unverified("test"), clock=clock
    )
    return TriageService(await serve_triage(servicer), repository, outcomes, clock)
