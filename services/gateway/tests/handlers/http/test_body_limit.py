"""Bodies over MAX_REQUEST_BODY_BYTES get 413 problem+json, announced or streamed."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

LIMIT = 4096  # the settings fixture's MAX_REQUEST_BODY_BYTES


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    @app.post("/test/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.post("/test/json")
    async def json_body(payload: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(payload)}

    return app


async def chunks(total: int, size: int = 1000) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b"x" * piece


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["connection"] == "close"
    problem = response.json()
    assert problem["type"] == "urn:voiceassist:problem:request-body-too-large"
    assert problem["max_body_bytes"] == LIMIT
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_a_body_within_the_limit_reaches_the_route(client: httpx.AsyncClient) -> None:
    response = await client.post("/test/upload", content=b"x" * LIMIT)
    assert response.json() == {"received": LIMIT}


async def test_an_announced_oversized_body_is_refused_unread(client: httpx.AsyncClient) -> None:
    response = await client.post("/test/upload", content=b"x" * (LIMIT + 1))
    assert_too_large(response)


async def test_an_announced_oversized_body_is_refused_even_where_no_route_reads_it(
    client: httpx.AsyncClient,
) -> None:
    assert_too_large(await client.post("/api/v1/speech/transcribe", content=b"x" * (LIMIT + 1)))


async def test_a_streamed_body_within_the_limit_reaches_the_route(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/test/upload", content=chunks(LIMIT))
    assert "content-length" not in response.request.headers
    assert response.json() == {"received": LIMIT}


async def test_a_streamed_body_is_refused_once_it_passes_the_limit(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/test/upload", content=chunks(50 * LIMIT))
    assert "content-length" not in response.request.headers
    assert_too_large(response)


async def test_a_route_parsing_json_answers_413_not_its_own_parse_error(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/test/json", content=chunks(2 * LIMIT), headers={"content-type": "application/json"}
    )
    assert_too_large(response)
