"""Health reports each service's status, streams changes, and lets shutdown go at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from voiceassist_common.grpc.health import HealthService

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


@pytest.fixture
async def health() -> AsyncIterator[tuple[HealthService, grpc.aio.Server, grpc.aio.Channel]]:
    service = HealthService()
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield service, server, channel
    await server.stop(0)


async def test_a_watch_sees_each_change_and_ends_when_shutdown_begins(
    health: tuple[HealthService, grpc.aio.Server, grpc.aio.Channel],
) -> None:
    service, server, channel = health
    await service.set("voiceassist.triage.v1.TriageService", NOT_SERVING)
    watch = health_pb2_grpc.HealthStub(channel).Watch(
        health_pb2.HealthCheckRequest(service="voiceassist.triage.v1.TriageService")
    )
    seen = [(await watch.read()).status]

    await service.set("voiceassist.triage.v1.TriageService", SERVING)
    seen.append((await watch.read()).status)
    await service.enter_graceful_shutdown()
    seen.append((await watch.read()).status)
    end = await watch.read()
    # A grace period far longer than the test's own timeout: an open watch must not hold it.
    async with asyncio.timeout(60):
        await server.stop(600)

    assert seen == [NOT_SERVING, SERVING, NOT_SERVING]
    assert end is grpc.aio.EOF  # type: ignore[attr-defined]  # missing from grpc-stubs
    assert await watch.code() is grpc.StatusCode.OK


async def test_a_watch_on_an_unknown_service_says_so_until_it_is_set(
    health: tuple[HealthService, grpc.aio.Server, grpc.aio.Channel],
) -> None:
    service, _, channel = health
    watch = health_pb2_grpc.HealthStub(channel).Watch(
        health_pb2.HealthCheckRequest(service="later")
    )

    first = (await watch.read()).status
    await service.set("later", SERVING)
    second = (await watch.read()).status
    watch.cancel()

    assert (first, second) == (SERVICE_UNKNOWN, SERVING)


async def test_no_status_comes_back_after_shutdown_began(
    health: tuple[HealthService, grpc.aio.Server, grpc.aio.Channel],
) -> None:
    service, _, channel = health
    await service.set("", SERVING)
    await service.enter_graceful_shutdown()
    await service.set("", SERVING)

    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())

    assert reply.status == NOT_SERVING


async def test_check_on_a_service_never_set_is_not_found(
    health: tuple[HealthService, grpc.aio.Server, grpc.aio.Channel],
) -> None:
    _, _, channel = health

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="nobody")
        )

    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
