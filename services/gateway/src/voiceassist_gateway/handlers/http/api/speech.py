"""REST speech for clients other than the voice conversation (issue #6).

The conversation itself runs over the voice-proxy WebSocket (``/ws/v1/conversation``), which
issue #6 adds with its WebSocket protocol.
"""

from __future__ import annotations

from fastapi import APIRouter

from voiceassist_gateway.domain.access import Permission
from voiceassist_gateway.domain.capabilities import SPEECH, PendingCapabilityError
from voiceassist_gateway.handlers.http.api.pending import pending
from voiceassist_gateway.handlers.http.identity import needs

router = APIRouter(prefix="/speech", tags=["speech"])


@router.post(
    "/transcribe",
    summary="Speech to text",
    **pending(SPEECH),
    dependencies=needs(Permission.SPEECH_USE),
)
async def transcribe() -> None:
    """Transcribe an uploaded recording (wav, ogg or webm): text, language and segments."""
    raise PendingCapabilityError(SPEECH)


@router.post(
    "/synthesize",
    summary="Text to speech",
    **pending(SPEECH),
    dependencies=needs(Permission.SPEECH_USE),
)
async def synthesize() -> None:
    """Speak a text; the answer is audio/wav."""
    raise PendingCapabilityError(SPEECH)
