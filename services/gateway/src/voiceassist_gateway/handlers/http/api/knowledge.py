"""REST face of the medical knowledge base (no issue filed for it yet)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from voiceassist_gateway.domain.access import Permission
from voiceassist_gateway.domain.capabilities import KNOWLEDGE_BASE, PendingCapabilityError
from voiceassist_gateway.handlers.http.api.pending import pending
from voiceassist_gateway.handlers.http.identity import needs

router = APIRouter(prefix="/kb", tags=["knowledge base"])

ArticleId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,127}$")]


@router.get(
    "/search",
    summary="Search the knowledge base",
    **pending(KNOWLEDGE_BASE),
    dependencies=needs(Permission.KNOWLEDGE_READ),
)
async def search() -> None:
    """Find articles about conditions, symptoms and medicines matching a query."""
    raise PendingCapabilityError(KNOWLEDGE_BASE)


@router.get(
    "/articles/{article_id}",
    summary="One article",
    **pending(KNOWLEDGE_BASE),
    dependencies=needs(Permission.KNOWLEDGE_READ),
)
async def read_article(article_id: ArticleId) -> None:
    """Return one knowledge-base article with its sources."""
    raise PendingCapabilityError(KNOWLEDGE_BASE)
