"""A grpc.aio server as every VoiceAssist service runs it.

The interceptors (tracing, metrics, error mapping, deadlines) are installed on every server, the
standard health service reports each registered service, and reflection lets grpcurl and
grpc_health_probe work without .proto files at hand. Health says NOT_SERVING until the server
accepts calls and again as soon as shutdown begins, so nothing routes calls to a process that
is not ready for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace

from voiceassist_common.grpc.health import HealthService
from voiceassist_common.grpc.interceptors import RpcServerInterceptor

__all__ = ["HEALTH_SERVICE", "GrpcServer", "Register", "listen_address", "start_grpc_server"]

HEALTH_SERVICE: str = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name

Register = Callable[[grpc.aio.Server], Sequence[str]]
"""Adds a service's handlers to the server and returns the full names of the services added."""

# By default gRPC sets SO_REUSEPORT, so a second process could bind the same port and silently
# take half the traffic; a port already in use must be an error instead.
_SERVER_OPTIONS = (("grpc.so_reuseport", 0),)


def listen_address(host: str, port: int) -> str:
    """``host:port`` as gRPC expects it, with IPv6 hosts in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class GrpcServer:
    """A started server: the port it listens on and the services it reports healthy."""

    port: int
    services: tuple[str, ...]
    _server: grpc.aio.Server
    _health: HealthService

    async def stop(self, grace: float) -> None:
        """Report NOT_SERVING, refuse new calls, give in-flight calls ``grace`` seconds."""
        await self._health.enter_graceful_shutdown()
        await self._server.stop(grace)


async def start_grpc_server(
    address: str,
    register: Register,
    *,
    tracer_provider: trace.TracerProvider | None = None,
) -> GrpcServer:
    """Build, bind and start a server; its services report SERVING once it accepts calls.

    Raises OSError naming the address when it cannot be bound.
    """
    server = grpc.aio.server(
        interceptors=[RpcServerInterceptor(tracer_provider)], options=_SERVER_OPTIONS
    )
    services = tuple(register(server))
    health = HealthService()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflected = (*services, HEALTH_SERVICE, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(reflected, server)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as error:
        raise OSError(f"cannot listen for gRPC on {address}: {error}") from None
    reported = ("", *services)
    for name in reported:
        await health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.start()
    for name in reported:
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    return GrpcServer(port=port, services=services, _server=server, _health=health)
