"""The public REST API under /api/v1, one router per product area."""

from __future__ import annotations

from fastapi import APIRouter

from voiceassist_gateway.handlers.http.api import (
    admin,
    auth,
    fhir,
    knowledge,
    scheduling,
    speech,
    triage,
)


def api_v1() -> APIRouter:
    """Every /api/v1 router, in the order the OpenAPI document lists them."""
    router = APIRouter(prefix="/api/v1")
    for area in (auth.router, triage.router, scheduling.router, fhir.router):
        router.include_router(area)
    for area in (speech.router, knowledge.router, admin.router):
        router.include_router(area)
    return router
