"""The OpenAPI document and its browsable docs at /docs, served without any CDN.

FastAPI documents errors as ``application/json`` in its own validation-error shape. Every
gateway error is problem+json (RFC 9457), so the document is rewritten once after it is
generated: error responses use the problem media type and schemas, and every operation
documents the 500 and (for requests with bodies) 413 that the middleware can answer.

The clinic's network may have no way out, so Swagger UI's files come from a Python package
and are served by the gateway itself.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# swagger-ui-bundle-v2 ships no type information; it only exports this path.
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from voiceassist_gateway.domain.problems import (
    BodyTooLargeProblem,
    CapabilityPendingProblem,
    Problem,
    ValidationProblem,
)
from voiceassist_gateway.handlers.http.edge_protection import CONTENT_SECURITY_POLICY
from voiceassist_gateway.handlers.http.problem_responses import PROBLEM_MEDIA_TYPE

DOCS_ASSETS = "/docs/assets"

_PROBLEM_MODELS = (Problem, ValidationProblem, BodyTooLargeProblem, CapabilityPendingProblem)
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_METHODS_WITH_BODY = frozenset({"post", "put", "patch"})


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem_content(name: str) -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": _ref(name)}}


def describe_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a FastAPI OpenAPI document so that its errors are problem+json."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for model in _PROBLEM_MODELS:
        generated = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(generated.pop("$defs", {}))
        schemas[model.__name__] = generated
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    problem_refs = {_ref(model.__name__)["$ref"] for model in _PROBLEM_MODELS}

    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status, response in responses.items():
                content: dict[str, Any] = response.get("content", {})
                schema = content.get("application/json", {}).get("schema", {})
                if status == "422":
                    response["content"] = _problem_content(ValidationProblem.__name__)
                    response["description"] = "The request is invalid; every field at fault."
                elif schema.get("$ref") in problem_refs:
                    response["content"] = {PROBLEM_MEDIA_TYPE: content.pop("application/json")}
            if method in _METHODS_WITH_BODY:
                responses.setdefault(
                    "413",
                    {
                        "description": "The request body is larger than the gateway accepts.",
                        "content": _problem_content(BodyTooLargeProblem.__name__),
                    },
                )
            responses.setdefault(
                "500",
                {
                    "description": "Unexpected error; quote the request id when reporting it.",
                    "content": _problem_content(Problem.__name__),
                },
            )
    return document


def docs_router(app: FastAPI) -> APIRouter:
    """Serve the Swagger UI page at /docs, reading the app's OpenAPI document."""
    router = APIRouter(include_in_schema=False)
    openapi_url = app.openapi_url or "/openapi.json"

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )
        page.headers["Content-Security-Policy"] = _docs_policy(bytes(page.body).decode())
        return page

    return router


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _docs_policy(page: str) -> str:
    """Return the docs page's CSP: the gateway's, allowing its one inline script by hash.

    The page boots Swagger UI with an inline script; naming that script's hash keeps
    'unsafe-inline' out of the policy.
    """
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}")


def mount_docs_assets(app: FastAPI) -> None:
    """Serve Swagger UI's JavaScript and CSS from the installed package."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
