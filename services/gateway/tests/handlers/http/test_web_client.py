"""The gateway serves the built web client: assets, client routes, and nothing over the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from voiceassist_gateway.config import Settings
from voiceassist_gateway.handlers.http.app import close_app, create_app

PAGE = "<!doctype html><title>VoiceAssist</title><div id=root></div>"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(PAGE)
    (root / "assets" / "index-abc123.js").write_text("console.log('app')")
    (root / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


@pytest.fixture
def settings(dist: Path, identity_settings: dict[str, Any]) -> Settings:
    return Settings(web_dist_dir=dist, **identity_settings)


async def test_client_routes_answer_with_the_app_page_revalidated_each_visit(
    anonymous: httpx.AsyncClient,
) -> None:
    for path in ("/", "/talk", "/admin/users", "/clinician"):
        page = await anonymous.get(path)
        assert page.status_code == 200, path
        assert page.text == PAGE
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"
        # The page is held to the same policy as everything else: no inline script.
        assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_hashed_assets_are_cached_for_good_and_other_files_revalidated(
    anonymous: httpx.AsyncClient,
) -> None:
    script = await anonymous.get("/assets/index-abc123.js")
    icon = await anonymous.get("/favicon.svg")

    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "immutable" in script.headers["cache-control"]
    assert icon.status_code == 200
    assert icon.headers["cache-control"] == "no-cache"


async def test_a_missing_asset_is_a_404_not_the_page(anonymous: httpx.AsyncClient) -> None:
    for path in ("/assets/index-old999.js", "/robots.txt"):
        missing = await anonymous.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"] == "application/problem+json"


async def test_api_paths_never_fall_back_to_the_page(anonymous: httpx.AsyncClient) -> None:
    for path in ("/api/v1/nothing-here", "/auth/nothing", "/ws/nothing"):
        answer = await anonymous.get(path)
        assert answer.status_code in (401, 404), path
        assert answer.headers["content-type"] == "application/problem+json"
    # Routes of the gateway itself still answer as before.
    assert (await anonymous.get("/healthz")).status_code == 200


async def test_nothing_outside_the_build_can_be_read(anonymous: httpx.AsyncClient) -> None:
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
        answer = await anonymous.get(path)
        assert "outside the build" not in answer.text, path


async def test_without_a_build_the_root_says_how_to_build_it(
    identity_settings: dict[str, Any], tmp_path: Path
) -> None:
    app = create_app(Settings(web_dist_dir=tmp_path / "nothing", **identity_settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://gw.test") as client:
        page = await client.get("/talk")
    await close_app(app)

    assert page.status_code == 503
    assert "make up" in page.text


async def test_only_reads_get_the_page_and_routes_added_later_still_win(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    @app.get("/added-later")
    async def added_later() -> dict[str, str]:
        return {"route": "added later"}

    posted = await anonymous.post("/talk", json={})
    later = await anonymous.get("/added-later")

    assert posted.status_code == 404
    assert posted.headers["content-type"] == "application/problem+json"
    assert later.json() == {"route": "added later"}
