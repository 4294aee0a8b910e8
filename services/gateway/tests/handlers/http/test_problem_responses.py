"""Every error is RFC 9457 problem+json with the request id, and never leaks internals."""

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from voiceassist_gateway.config import Settings
from voiceassist_gateway.handlers.http.app import create_app

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["title"]
    assert problem["type"]
    assert problem["request_id"] == response.headers["x-request-id"]
    return problem


async def test_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    problem = assert_problem(await client.get("/api/v1/no-such-thing"), 404)
    assert problem["type"] == "about:blank"
    assert problem["title"] == "Not Found"


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    problem = assert_problem(response, 405)
    assert problem["title"] == "Method Not Allowed"
    assert "GET" in response.headers["allow"]


async def test_invalid_path_parameter_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/scheduling/appointments/not-a-uuid")
    problem = assert_problem(response, 422)
    assert problem["type"] == "urn:voiceassist:problem:validation-failed"
    (error,) = problem["errors"]
    assert error["location"] == ["path", "appointment_id"]
    assert error["kind"] == "uuid_parsing"
    assert "input" not in error
    assert "not-a-uuid" not in response.text


async def test_invalid_body_is_422_without_echoing_the_input(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    @app.post("/test/symptoms")
    async def record(payload: dict[str, int]) -> None:
        raise AssertionError("never reached")

    response = await client.post("/test/symptoms", json={"chest pain": "Maria Gonzalez"})
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["location"][0] == "body"
    assert "Maria" not in response.text


async def test_unexpected_error_is_a_generic_500_with_the_request_id(
    app: FastAPI, client: httpx.AsyncClient, log_stream: Any
) -> None:
    @app.get("/test/crash")
    async def crash() -> None:
        raise RuntimeError("database password hunter2 for patient Maria Gonzalez")

    response = await client.get("/test/crash", headers={"x-request-id": "crash-0001"})
    problem = assert_problem(response, 500)
    assert problem["request_id"] == "crash-0001"
    assert problem["title"] == "Internal Server Error"
    assert "hunter2" not in response.text
    assert "Maria" not in response.text
    logged = log_stream.getvalue()
    assert "crash-0001" in logged
    assert "RuntimeError" in logged
    assert "Maria Gonzalez" not in logged


async def test_a_503_raised_by_a_route_is_a_problem(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from fastapi import HTTPException

    @app.get("/test/busy")
    async def busy() -> None:
        raise HTTPException(503, "The triage service is busy; retry shortly.", {"retry-after": "2"})

    response = await client.get("/test/busy")
    problem = assert_problem(response, 503)
    assert problem["detail"] == "The triage service is busy; retry shortly."
    assert response.headers["retry-after"] == "2"


def placeholder_operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = create_app(Settings()).openapi()
    operations = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "x-voiceassist-pending" in operation:
                operations.append((method, path, operation))
    return operations


def concrete(path: str, operation: dict[str, Any]) -> str:
    values = {}
    for parameter in operation.get("parameters", []):
        schema = parameter["schema"]
        if schema.get("format") == "uuid":
            values[parameter["name"]] = str(uuid.uuid4())
        elif "$ref" in schema:  # the FHIR resource type
            values[parameter["name"]] = "Practitioner"
        else:
            values[parameter["name"]] = "example-1"
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


PLACEHOLDERS = placeholder_operations()


def test_every_area_has_placeholders() -> None:
    prefixes = {path.split("/")[3] for _, path, _ in PLACEHOLDERS}
    assert prefixes == {"auth", "kb"}


@pytest.mark.parametrize(
    ("method", "path", "operation"), PLACEHOLDERS, ids=[f"{m} {p}" for m, p, _ in PLACEHOLDERS]
)
async def test_placeholder_answers_501_naming_capability_and_issue(
    client: httpx.AsyncClient,
    idp: Any,
    method: str,
    path: str,
    operation: dict[str, Any],
) -> None:
    pending = operation["x-voiceassist-pending"]
    pending.setdefault("issue", None)  # the OpenAPI document leaves out nulls
    response = await client.request(method.upper(), concrete(path, operation))
    problem = assert_problem(response, 501)
    assert problem["type"] == "urn:voiceassist:problem:capability-pending"
    assert problem["capability"] == pending["capability"]
    assert problem["issue"] == pending["issue"]
    if pending["issue"] is None:
        assert "no issue has been filed" in problem["detail"]
    else:
        assert f"issue #{pending['issue']}" in problem["detail"]


async def test_a_placeholder_points_at_its_issue(client: httpx.AsyncClient) -> None:
    problem = (await client.post("/api/v1/auth/register")).json()
    assert problem["issue"] == 4
    assert problem["detail"] == (
        "The identity and access service (sign-in, sessions, roles) is not available yet; "
        "it arrives with issue #4."
    )
