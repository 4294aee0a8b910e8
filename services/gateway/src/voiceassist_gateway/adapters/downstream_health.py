"""Asks each downstream service for its health over the standard gRPC health service.

Every VoiceAssist service registers `grpc.health.v1.Health`; the gateway calls `Check` with
the overall service name "" on all of them at once, with a short deadline, so /readyz answers
within about one timeout even when a service hangs. Channels are opened once and reused: a
readiness probe every few seconds must not open eight connections each time. They are plain
channels, without the tracing and metrics interceptors of `voiceassist_common.grpc.client`:
probes every few seconds would bury real traffic in traces; /readyz reports latency itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from voiceassist_gateway.domain.readiness import HealthStatus, ServiceHealth

# gRPC backs off up to two minutes between reconnects by default, so a service restarted
# after a long outage would stay red long after it is back. Readiness must turn green within
# seconds of a restart, so reconnect at most a second apart; a connect attempt may take two.
_CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.min_reconnect_backoff_ms", 2000),
)

_ANSWERS: Mapping[int, HealthStatus] = {
    health_pb2.HealthCheckResponse.SERVING: HealthStatus.SERVING,
    health_pb2.HealthCheckResponse.NOT_SERVING: HealthStatus.NOT_SERVING,
    health_pb2.HealthCheckResponse.UNKNOWN: HealthStatus.UNKNOWN,
    health_pb2.HealthCheckResponse.SERVICE_UNKNOWN: HealthStatus.SERVICE_UNKNOWN,
}

_REASONS: Mapping[HealthStatus, str] = {
    HealthStatus.NOT_SERVING: "the service reports it is not serving",
    HealthStatus.UNKNOWN: "the service reports an unknown health status",
    HealthStatus.SERVICE_UNKNOWN: "the service does not report its overall health (service '')",
}


class GrpcHealthChecks:
    """Checks a fixed set of services, each by name and gRPC address, in parallel.

    Create and use it inside one running event loop; `close` releases the channels.
    """

    def __init__(self, addresses: Mapping[str, str], timeout_seconds: float) -> None:
        self._addresses = dict(addresses)
        self._timeout = timeout_seconds
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._stubs: dict[str, health_pb2_grpc.HealthStub] = {}
        self._round: asyncio.Future[list[ServiceHealth]] | None = None

    def _stub(self, service: str) -> health_pb2_grpc.HealthStub:
        stub = self._stubs.get(service)
        if stub is None:
            # Opened lazily so the channel belongs to the event loop that serves requests.
            channel = grpc.aio.insecure_channel(self._addresses[service], options=_CHANNEL_OPTIONS)
            self._channels[service] = channel
            stub = self._stubs[service] = health_pb2_grpc.HealthStub(channel)
        return stub

    async def check(self) -> list[ServiceHealth]:
        """Check every service at once; each result says why a sick service is not serving.

        Callers arriving while a round of checks is under way share its results, so a burst
        of /readyz requests on the public port never multiplies into a burst of calls to
        every internal service.
        """
        if self._round is None or self._round.done():
            self._round = asyncio.ensure_future(
                asyncio.gather(*(self._check(service) for service in self._addresses))
            )
        # Shielded: one impatient caller going away must not cancel the others' round.
        return list(await asyncio.shield(self._round))

    async def _check(self, service: str) -> ServiceHealth:
        address = self._addresses[service]
        started = time.perf_counter()

        def health(status: HealthStatus, reason: str | None = None) -> ServiceHealth:
            latency_ms = round((time.perf_counter() - started) * 1000, 1)
            return ServiceHealth(service, status, address, latency_ms, reason)

        try:
            reply = await self._stub(service).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            return health(*_failure(error, self._timeout))
        status = _ANSWERS.get(reply.status, HealthStatus.UNKNOWN)
        return health(status, _REASONS.get(status))

    async def close(self) -> None:
        """Close every channel opened so far."""
        channels = list(self._channels.values())
        self._channels.clear()
        self._stubs.clear()
        await asyncio.gather(*(channel.close(grace=None) for channel in channels))


def _failure(error: grpc.aio.AioRpcError, timeout: float) -> tuple[HealthStatus, str]:
    """Classify a failed health call and say why in words an operator can act on."""
    code = error.code()
    if code is grpc.StatusCode.UNAVAILABLE:
        return HealthStatus.UNAVAILABLE, f"cannot reach the service: {error.details()}"
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return HealthStatus.TIMEOUT, f"no answer within {timeout:g} s"
    if code is grpc.StatusCode.NOT_FOUND:
        return HealthStatus.SERVICE_UNKNOWN, _REASONS[HealthStatus.SERVICE_UNKNOWN]
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return HealthStatus.ERROR, "the service has no grpc.health.v1.Health service"
    return HealthStatus.ERROR, f"health check failed with {code.name}: {error.details()}"
