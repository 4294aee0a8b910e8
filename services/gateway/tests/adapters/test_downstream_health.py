"""GrpcHealthChecks against real grpc.aio servers running the standard health service."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1._async import HealthServicer
from voiceassist_gateway.adapters.downstream_health import GrpcHealthChecks
from voiceassist_gateway.config import DOWNSTREAM_SERVICES
from voiceassist_gateway.domain.readiness import HealthStatus, ServiceHealth

TIMEOUT = 0.3


@pytest.fixture
async def checks(stand_ins: Any) -> AsyncIterator[GrpcHealthChecks]:
    checks = GrpcHealthChecks(stand_ins.addresses, TIMEOUT)
    yield checks
    await checks.close()


def by_name(results: list[ServiceHealth]) -> dict[str, ServiceHealth]:
    return {result.service: result for result in results}


async def test_every_serving_service_is_reported_serving_with_address_and_latency(
    stand_ins: Any, checks: GrpcHealthChecks
) -> None:
    results = await checks.check()
    assert [result.service for result in results] == list(DOWNSTREAM_SERVICES)
    for result in results:
        assert result.status is HealthStatus.SERVING
        assert result.address == stand_ins.addresses[result.service]
        assert result.latency_ms is not None
        assert result.latency_ms >= 0
        assert result.reason is None


async def test_a_stopped_service_is_unavailable_with_a_reason(
    stand_ins: Any, checks: GrpcHealthChecks
) -> None:
    await checks.check()  # channels connected while it was up
    await stand_ins.stop("scheduling")
    results = by_name(await checks.check())
    assert results["scheduling"].status is HealthStatus.UNAVAILABLE
    assert results["scheduling"].reason is not None
    assert results["scheduling"].reason.startswith("cannot reach the service")
    assert all(r.serving for name, r in results.items() if name != "scheduling")


async def test_a_service_reporting_not_serving_is_named(
    stand_ins: Any, checks: GrpcHealthChecks
) -> None:
    await stand_ins.set_not_serving("stt")
    results = by_name(await checks.check())
    assert results["stt"].status is HealthStatus.NOT_SERVING
    assert results["stt"].reason == "the service reports it is not serving"


async def test_a_service_that_never_answers_times_out_without_holding_up_the_others(
    stand_ins: Any, checks: GrpcHealthChecks, stalled_health: Any
) -> None:
    await stand_ins.restart("tts", stalled_health)
    results = by_name(await checks.check())
    assert results["tts"].status is HealthStatus.TIMEOUT
    assert results["tts"].reason == f"no answer within {TIMEOUT:g} s"
    assert all(r.serving for name, r in results.items() if name != "tts")


async def test_a_server_without_the_health_service_is_an_error(
    stand_ins: Any, checks: GrpcHealthChecks
) -> None:
    await stand_ins.stop("admin")
    bare = grpc.aio.server()
    bare.add_insecure_port(stand_ins.addresses["admin"])
    await bare.start()
    try:
        result = by_name(await checks.check())["admin"]
    finally:
        await bare.stop(grace=None)
    assert result.status is HealthStatus.ERROR
    assert result.reason == "the service has no grpc.health.v1.Health service"


async def test_a_restarted_service_is_serving_again_within_seconds(
    stand_ins: Any, checks: GrpcHealthChecks
) -> None:
    await checks.check()
    await stand_ins.stop("triage")
    # Long enough for several failed reconnects: backoff must stay short regardless.
    for _ in range(5):
        assert by_name(await checks.check())["triage"].status is HealthStatus.UNAVAILABLE
        await asyncio.sleep(0.5)
    await stand_ins.restart("triage")
    deadline = time.monotonic() + 10
    while by_name(await checks.check())["triage"].status is not HealthStatus.SERVING:
        assert time.monotonic() < deadline, "triage still not serving 10 s after its restart"
        await asyncio.sleep(0.1)


async def test_nothing_listening_is_unavailable() -> None:
    checks = GrpcHealthChecks({"auth": "127.0.0.1:1"}, TIMEOUT)
    try:
        (result,) = await checks.check()
    finally:
        await checks.close()
    assert result.status is HealthStatus.UNAVAILABLE


class CountingHealth(HealthServicer):  # type: ignore[misc]  # untyped asyncio servicer
    """The standard health service, counting the checks it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    async def Check(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method name
        self.checks += 1
        await asyncio.sleep(0.05)
        return await super().Check(request, context)


async def test_concurrent_callers_share_one_round_of_checks(
    stand_ins: Any, checks: GrpcHealthChecks
) -> None:
    counting = CountingHealth()
    await stand_ins.restart("auth", counting)
    rounds = await asyncio.gather(*(checks.check() for _ in range(5)))
    assert all(by_name(results)["auth"].serving for results in rounds)
    assert counting.checks == 1
    await checks.check()
    assert counting.checks == 2
