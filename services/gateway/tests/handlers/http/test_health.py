"""/healthz and /readyz, with real gRPC health servers standing in for the eight services."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from voiceassist_gateway.adapters.downstream_health import GrpcHealthChecks
from voiceassist_gateway.domain.readiness import DownstreamHealth

NINE = [
    "gateway",
    "auth",
    "voice-proxy",
    "stt",
    "tts",
    "medical-kb",
    "triage",
    "scheduling",
    "admin",
]


@pytest.fixture
async def downstream_health(stand_ins: Any) -> AsyncIterator[DownstreamHealth]:
    checks = GrpcHealthChecks(stand_ins.addresses, 0.5)
    yield checks
    await checks.close()


async def test_healthz_answers_while_the_process_runs(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


async def test_readyz_is_200_with_nine_serving_services(
    client: httpx.AsyncClient, stand_ins: Any
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == "ready"
    assert list(body["services"]) == NINE
    assert body["services"]["gateway"] == {"status": "SERVING"}
    for name in NINE[1:]:
        service = body["services"][name]
        assert service["status"] == "SERVING"
        assert service["address"] == stand_ins.addresses[name]
        assert service["latency_ms"] >= 0
        assert "reason" not in service


async def test_readyz_is_503_naming_a_stopped_service(
    client: httpx.AsyncClient, stand_ins: Any
) -> None:
    await stand_ins.stop("triage")
    response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert list(body["services"]) == NINE
    assert body["services"]["triage"]["status"] == "UNAVAILABLE"
    assert body["services"]["triage"]["reason"]
    assert [n for n, s in body["services"].items() if s["status"] != "SERVING"] == ["triage"]


async def test_readyz_is_503_naming_a_service_that_reports_not_serving(
    client: httpx.AsyncClient, stand_ins: Any
) -> None:
    await stand_ins.set_not_serving("medical-kb")
    response = await client.get("/readyz")
    assert response.status_code == 503
    kb = response.json()["services"]["medical-kb"]
    assert kb["status"] == "NOT_SERVING"
    assert kb["reason"] == "the service reports it is not serving"


async def test_readyz_turns_green_again_once_the_service_is_back(
    client: httpx.AsyncClient, stand_ins: Any
) -> None:
    await stand_ins.set_not_serving("auth")
    assert (await client.get("/readyz")).status_code == 503
    await stand_ins.restart("auth")
    assert (await client.get("/readyz")).status_code == 200
