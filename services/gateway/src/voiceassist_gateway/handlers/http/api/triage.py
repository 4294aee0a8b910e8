"""REST face of the triage engine (issue #3): parse, diagnose, assess urgency, explain."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from voiceassist_gateway.domain.capabilities import TRIAGE_ENGINE, PendingCapabilityError
from voiceassist_gateway.handlers.http.api.pending import pending

router = APIRouter(prefix="/triage", tags=["triage"])


@router.post("/parse", summary="Free text to evidence", **pending(TRIAGE_ENGINE))
async def parse() -> None:
    """Turn what the patient said (English or French) into evidence with values and spans."""
    raise PendingCapabilityError(TRIAGE_ENGINE)


@router.post("/diagnose", summary="Next question and ranked conditions", **pending(TRIAGE_ENGINE))
async def diagnose() -> None:
    """Choose the next question and rank conditions from age, sex and all evidence so far."""
    raise PendingCapabilityError(TRIAGE_ENGINE)


@router.post("/assess", summary="Urgency level and advice", **pending(TRIAGE_ENGINE))
async def assess_urgency() -> None:
    """Assess urgency: level, red flags that fired, instruction and specialty for booking."""
    raise PendingCapabilityError(TRIAGE_ENGINE)


@router.post("/explain", summary="Evidence for and against", **pending(TRIAGE_ENGINE))
async def explain() -> None:
    """Give the evidence for and against each ranked condition."""
    raise PendingCapabilityError(TRIAGE_ENGINE)


@router.get("/sessions/{session_id}", summary="One triage session", **pending(TRIAGE_ENGINE))
async def read_session(session_id: UUID) -> None:
    """Return a completed triage session of the caller (clinicians: of their patients)."""
    raise PendingCapabilityError(TRIAGE_ENGINE)
