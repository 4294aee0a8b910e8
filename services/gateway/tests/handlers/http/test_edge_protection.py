"""Security headers on every answer, CORS only for configured origins, a per-IP rate limit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from voiceassist_gateway.config import Settings
from voiceassist_gateway.handlers.http.app import close_app, create_app

APP_ORIGIN = "https://app.clinic.example"


async def test_every_answer_carries_the_browser_security_headers(
    anonymous: httpx.AsyncClient,
) -> None:
    for response in (await anonymous.get("/healthz"), await anonymous.get("/api/v1/auth/me")):
        csp = response.headers["content-security-policy"]
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        # The test client speaks https, as a browser behind TLS does.
        assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_no_hsts_over_plain_http(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.get("/healthz")
    assert "strict-transport-security" not in response.headers


@pytest.fixture
def settings(identity_settings: dict[str, Any]) -> Settings:
    return Settings(
        cors_allowed_origins=APP_ORIGIN, rate_limit_per_ip_per_minute=3, **identity_settings
    )


async def test_only_configured_origins_may_call_from_a_browser(
    anonymous: httpx.AsyncClient,
) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = await anonymous.options(
        "/api/v1/triage/parse", headers={"Origin": APP_ORIGIN, **preflight}
    )
    other = await anonymous.options(
        "/api/v1/triage/parse", headers={"Origin": "https://evil.example", **preflight}
    )

    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in other.headers


async def test_an_address_over_its_rate_gets_429_with_retry_after(
    anonymous: httpx.AsyncClient,
) -> None:
    statuses = [(await anonymous.get("/api/v1/auth/me")).status_code for _ in range(4)]
    health = await anonymous.get("/healthz")

    assert statuses == [401, 401, 401, 429]
    assert health.status_code == 200  # probes are never throttled


async def test_cors_for_every_origin_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="CORS_ALLOWED_ORIGINS"):
        Settings(environment="test", cors_allowed_origins="*", oidc_client_secret="s")


async def test_an_app_without_cors_origins_sends_no_cors_headers(
    identity_settings: dict[str, Any], gatekeeper: Any
) -> None:
    app = create_app(Settings(**identity_settings), gatekeeper=gatekeeper)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            response = await client.get("/healthz", headers={"Origin": APP_ORIGIN})
    finally:
        await close_app(app)
    assert "access-control-allow-origin" not in response.headers


async def test_the_docs_page_runs_its_inline_script_by_hash_not_unsafe_inline(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get("/docs")

    csp = response.headers["content-security-policy"]
    assert "'sha256-" in csp
    assert "unsafe-inline" not in csp
