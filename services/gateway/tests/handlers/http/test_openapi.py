"""OpenAPI at /openapi.json and browsable docs at /docs, with errors as problem+json."""

from importlib.metadata import version
from typing import Any

import httpx


async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_the_document_is_titled_and_versioned(client: httpx.AsyncClient) -> None:
    info = (await openapi(client))["info"]
    assert info["title"] == "VoiceAssist gateway API"
    assert info["version"] == version("voiceassist-gateway")


async def test_every_error_response_is_documented_as_problem_json(
    client: httpx.AsyncClient,
) -> None:
    document = await openapi(client)
    schemas = document["components"]["schemas"]
    assert {"Problem", "ValidationProblem", "CapabilityPendingProblem"} <= set(schemas)
    assert "HTTPValidationError" not in schemas
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "500" in responses, f"{method} {path}"
            for status, response in responses.items():
                if int(status) >= 400 and path != "/readyz":
                    assert list(response["content"]) == ["application/problem+json"], (
                        f"{method} {path} {status}"
                    )


async def test_placeholders_are_documented_as_501_with_their_issue(
    client: httpx.AsyncClient,
) -> None:
    paths = (await openapi(client))["paths"]
    operation = paths["/api/v1/auth/register"]["post"]
    assert operation["x-voiceassist-pending"]["issue"] == 4
    assert "issue #4" in operation["responses"]["501"]["description"]
    assert "413" in paths["/api/v1/scheduling/appointments"]["post"]["responses"]


async def test_docs_are_served_without_any_cdn(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text
    assert "://" not in page.text  # every asset comes from the gateway itself
    script = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
