"""Gives every request an id and carries it to the response, the logs and the trace.

Runs just inside the tracing middleware, so the id lands on the request's server span, and
outside everything else, so every log line written while serving the request carries it and
every response, errors included, returns it in ``X-Request-ID``.
"""

from __future__ import annotations

from opentelemetry import trace
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from voiceassist_common.logging import log_context, safe

from voiceassist_gateway.domain.request_ids import REQUEST_ID_HEADER, choose_request_id

# The server span's attribute that holds the request id.
REQUEST_ID_ATTRIBUTE = "voiceassist.request_id"


class RequestIdMiddleware:
    """Accepts a sane incoming ``X-Request-ID`` or generates one, and binds it everywhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection scope with its request id bound."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id, generated = choose_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        scope.setdefault("state", {})["request_id"] = request_id
        trace.get_current_span().set_attribute(REQUEST_ID_ATTRIBUTE, request_id)

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        # A generated id is a UUID and holds no PHI; a caller's id is left to the redactor.
        logged_id = safe(request_id) if generated else request_id
        with log_context(request_id=logged_id):
            await self.app(scope, receive, send_with_request_id)
