"""The last line of defence: an unexpected exception becomes a generic 500 problem.

The client learns that something failed and the request id to quote, nothing more: exception
messages can hold internals, secrets or patient data. The full error goes to the log (through
the redactor) and onto the request's span, where an operator finds it by that request id.
"""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voiceassist_gateway.domain.problems import http_problem
from voiceassist_gateway.handlers.http.problem_responses import problem_response, request_id_of

logger = logging.getLogger(__name__)

_DETAIL = "The gateway could not complete the request. Quote the request id when reporting it."


class UnhandledErrorMiddleware:
    """Answers 500 problem+json for any exception the routes did not handle."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request; on an unexpected exception, log it and answer 500."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def watch(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            span = trace.get_current_span()
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            logger.exception("unhandled error while serving a request")
            if response_started:
                # Half a response is on the wire; only dropping the connection is honest.
                raise
            problem = http_problem(500, _DETAIL, request_id_of(scope))
            await problem_response(problem)(scope, receive, send)
