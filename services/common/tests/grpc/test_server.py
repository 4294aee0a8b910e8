"""A started server reports health per service, lists its services and refuses a taken port."""

from __future__ import annotations

import asyncio
import socket
from types import ModuleType

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from voiceassist_common.grpc.server import GrpcServer, listen_address, start_grpc_server
from voiceassist_common.testing import health_status, reflected_services

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_reports_serving_overall_and_for_each_registered_service(
    probe: ModuleType, channel: grpc.aio.Channel
) -> None:
    assert await health_status(channel) == "SERVING"
    assert await health_status(channel, probe.SERVICE_NAME) == "SERVING"


async def test_an_unknown_service_is_not_found(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await health_status(channel, "voiceassist.nothing.v1.Nothing")

    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_reflection_lists_the_services_health_and_reflection(
    probe: ModuleType, channel: grpc.aio.Channel
) -> None:
    assert await reflected_services(channel) == {
        probe.SERVICE_NAME,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


async def test_health_turns_not_serving_as_soon_as_shutdown_begins(
    probe: ModuleType, probe_server: GrpcServer, channel: grpc.aio.Channel
) -> None:
    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
    first = await watch.read()
    stopping = asyncio.create_task(probe_server.stop(1))

    second = await watch.read()

    assert (first.status, second.status) == (SERVING, NOT_SERVING)
    await stopping


async def test_an_address_in_use_is_refused_with_the_address(probe: ModuleType) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = listen_address("127.0.0.1", taken.getsockname()[1])

        with pytest.raises(OSError, match=f"cannot listen for gRPC on {address}"):
            await start_grpc_server(address, probe.Probe().register)


def test_ipv6_hosts_are_bracketed() -> None:
    assert listen_address("::", 50051) == "[::]:50051"
    assert listen_address("127.0.0.1", 50051) == "127.0.0.1:50051"
