"""The standard gRPC health service (``grpc.health.v1.Health``), ending its streams at shutdown.

grpcio-health-checking's asyncio servicer keeps every Watch stream open for ever, so a single
watcher (the gateway, a load balancer) would hold each shutdown for its whole grace period.
This one answers the same protocol, but when shutdown begins a Watch stream sends NOT_SERVING
and ends; the watcher reconnects and finds the server gone. Statuses only change under one
condition, and nothing is written to a stream while holding it, so a slow watcher delays no one.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

__all__ = ["HealthService"]


class HealthService(health_pb2_grpc.HealthServicer):  # type: ignore[misc]  # no type hints
    """Serving status of the whole server (``""``) and of each service it hosts."""

    def __init__(self) -> None:
        self._statuses: dict[str, int] = {}
        self._changed = asyncio.Condition()
        self._stopping = False

    async def set(self, service: str, status: int) -> None:
        """Set ``service``'s status; ignored once shutdown has begun."""
        async with self._changed:
            if self._stopping:
                return
            self._statuses[service] = status
            self._changed.notify_all()

    async def enter_graceful_shutdown(self) -> None:
        """Report NOT_SERVING for every service, for good, and end the Watch streams."""
        async with self._changed:
            for service in self._statuses:
                self._statuses[service] = health_pb2.HealthCheckResponse.NOT_SERVING
            self._stopping = True
            self._changed.notify_all()

    async def Check(  # noqa: N802 - the RPC's name, fixed by grpc.health.v1
        self, request: health_pb2.HealthCheckRequest, context: Any
    ) -> health_pb2.HealthCheckResponse:
        """Answer the service's current status, or NOT_FOUND for a service never set."""
        status = self._statuses.get(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=status)

    async def Watch(  # noqa: N802 - the RPC's name, fixed by grpc.health.v1
        self, request: health_pb2.HealthCheckRequest, context: Any
    ) -> None:
        """Stream the service's status and each change, until shutdown begins."""
        sent: int | None = None
        while True:
            async with self._changed:
                await self._changed.wait_for(
                    functools.partial(self._has_news, request.service, sent)
                )
                status, stopping = self._status_of(request.service), self._stopping
            if status != sent:
                await context.write(health_pb2.HealthCheckResponse(status=status))
                sent = status
            if stopping:
                return

    def _has_news(self, service: str, sent: int | None) -> bool:
        """Whether a watcher that last sent ``sent`` has something to send, or must stop."""
        return self._status_of(service) != sent or self._stopping

    def _status_of(self, service: str) -> int:
        return int(self._statuses.get(service, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN))
