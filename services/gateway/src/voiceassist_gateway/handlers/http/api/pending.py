"""Route options shared by placeholder routes of capabilities that later issues deliver.

A placeholder documents the route a later issue will implement (path, parameters, purpose)
and answers 501 problem+json naming the missing capability; the OpenAPI document says so too.
"""

from __future__ import annotations

from typing import Any

from voiceassist_gateway.domain.capabilities import Capability
from voiceassist_gateway.domain.problems import CapabilityPendingProblem


def pending(capability: Capability) -> dict[str, Any]:
    """Keyword arguments for a route decorator of a placeholder route."""
    return {
        "status_code": 501,
        "response_model": None,
        "response_description": capability.describe(),
        "responses": {501: {"model": CapabilityPendingProblem}},
        "openapi_extra": {
            "x-voiceassist-pending": {"capability": capability.name, "issue": capability.issue}
        },
    }
