"""Refuses request bodies over the configured size before they are read into memory.

A body announced too large by ``Content-Length`` is refused at once, unread. A chunked body
(no length announced) is counted as it streams in; the moment it passes the limit the
route's read fails, whatever the route would have answered is dropped, and the client gets
413 instead. Bodies are never buffered here, so the limit costs no memory.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voiceassist_gateway.domain.problems import body_too_large_problem
from voiceassist_gateway.handlers.http.problem_responses import problem_response, request_id_of


class RequestBodyTooLargeError(Exception):
    """Raised into the route when the body it is reading passes the limit."""


class BodyLimitMiddleware:
    """Answers 413 problem+json to any request whose body exceeds ``max_body_bytes``."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, counting its body as it is read."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(scope, receive, send)
            return

        received = 0
        exceeded = False
        response_started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise RequestBodyTooLargeError
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    exceeded = True
                    raise RequestBodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded and not response_started:
                # The route's answer to a body it could not read (often a 400 or 500) would
                # hide the real cause; the 413 below replaces it.
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not exceeded or response_started:
                raise
        if exceeded and not response_started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = body_too_large_problem(self.max_body_bytes, request_id_of(scope))
        # The rest of the body is not read, so the connection cannot be reused.
        await problem_response(problem, {"connection": "close"})(scope, receive, send)
