"""Fixtures: the gateway app under test, and real gRPC health servers for its downstreams."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from voiceassist_common.logging import configure_logging
from voiceassist_gateway.adapters.downstream_health import GrpcHealthChecks
from voiceassist_gateway.config import DOWNSTREAM_SERVICES, Settings
from voiceassist_gateway.domain.readiness import DownstreamHealth
from voiceassist_gateway.handlers.http.app import create_app

BODY_LIMIT = 4096


# grpc_health's asyncio servicer ships without type information.
class StalledHealth(HealthServicer):  # type: ignore[misc]
    """A health service that never answers, like a process stuck in a busy loop."""

    async def Check(  # noqa: N802 - gRPC method name
        self, request: health_pb2.HealthCheckRequest, context: Any
    ) -> health_pb2.HealthCheckResponse:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class StandIns:
    """One real grpc.aio server per downstream service, each with the standard health service."""

    def __init__(self) -> None:
        self.ports: dict[str, int] = {}
        self.servers: dict[str, grpc.aio.Server] = {}
        self.health: dict[str, HealthServicer] = {}

    @property
    def addresses(self) -> dict[str, str]:
        return {name: f"127.0.0.1:{port}" for name, port in self.ports.items()}

    async def start(
        self, name: str, servicer: HealthServicer | None = None, *, port: int = 0
    ) -> None:
        server = grpc.aio.server()
        if servicer is None:
            servicer = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        self.ports[name] = server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        self.servers[name], self.health[name] = server, servicer

    async def stop(self, name: str) -> None:
        await self.servers.pop(name).stop(grace=None)

    async def restart(self, name: str, servicer: HealthServicer | None = None) -> None:
        if name in self.servers:
            await self.stop(name)
        await self.start(name, servicer, port=self.ports[name])

    async def set_not_serving(self, name: str) -> None:
        await self.health[name].set("", health_pb2.HealthCheckResponse.NOT_SERVING)

    async def close(self) -> None:
        await asyncio.gather(*(server.stop(grace=None) for server in self.servers.values()))
        self.servers.clear()


@pytest.fixture
async def stand_ins() -> AsyncIterator[StandIns]:
    services = StandIns()
    try:
        for name in DOWNSTREAM_SERVICES:
            await services.start(name)
        yield services
    finally:
        await services.close()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        environment="test",
        max_request_body_bytes=BODY_LIMIT,
        readiness_timeout_seconds=0.5,
    )


@pytest.fixture
async def downstream_health(settings: Settings) -> AsyncIterator[DownstreamHealth]:
    """Health checks against the default addresses; modules that check readiness override it."""
    checks = GrpcHealthChecks(settings.downstream_addresses(), settings.readiness_timeout_seconds)
    yield checks
    await checks.close()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(spans: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    yield provider
    provider.shutdown()


@pytest.fixture
def app(
    settings: Settings, downstream_health: DownstreamHealth, tracer_provider: TracerProvider
) -> FastAPI:
    return create_app(
        settings, downstream_health=downstream_health, tracer_provider=tracer_provider
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client
    # ASGITransport runs no lifespan, so the shutdown that closes the channels is done here.
    await app.state.triage.close()


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Route the process's logging to a string, as JSON lines (restored afterwards)."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    configure_logging("gateway", "INFO", stream=stream)
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


@pytest.fixture
def stalled_health() -> HealthServicer:
    """Make a health servicer that never answers."""
    return StalledHealth()
