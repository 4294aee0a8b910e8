"""Prometheus metrics every service exports, and the ``/metrics`` endpoint that serves them.

Every metric name starts with ``voiceassist_`` so dashboards never confuse ours with a
library's. Label values are only service, method, status code and version, never request
data, so no PHI can reach the metrics store.

Metrics defined here:

``voiceassist_grpc_server_requests_total{service,method,code}``
    RPCs this process answered, by gRPC service (``voiceassist.triage.v1.TriageService``),
    method (``Diagnose``) and final status code (``OK``, ``NOT_FOUND``, ...).
``voiceassist_grpc_server_request_duration_seconds{service,method}``
    Histogram of the time from the call's arrival to its final status (a stream's whole life).
``voiceassist_grpc_server_in_flight{service,method}``
    RPCs being handled right now.
``voiceassist_grpc_client_requests_total{service,method,code}``,
``voiceassist_grpc_client_request_duration_seconds{service,method}``,
``voiceassist_grpc_client_in_flight{service,method}``
    The same, seen from this process as the caller of another service.
``voiceassist_build_info{service,version}``
    Always 1; says which version of which service is running.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

import prometheus_client
from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "GRPC_CLIENT_DURATION",
    "GRPC_CLIENT_IN_FLIGHT",
    "GRPC_CLIENT_REQUESTS",
    "GRPC_SERVER_DURATION",
    "GRPC_SERVER_IN_FLIGHT",
    "GRPC_SERVER_REQUESTS",
    "MetricsServer",
    "record_build_info",
    "start_metrics_server",
]

# `_created` series double what every scrape carries and no dashboard of ours reads them.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

# Voice turns and streams run far longer than the library's 10 s top bucket.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)

GRPC_SERVER_REQUESTS = Counter(
    "voiceassist_grpc_server_requests_total",
    "RPCs answered by this process, by gRPC service, method and final status code.",
    ["service", "method", "code"],
)
GRPC_SERVER_DURATION = Histogram(
    "voiceassist_grpc_server_request_duration_seconds",
    "Time from an RPC's arrival to its final status, in seconds.",
    ["service", "method"],
    buckets=_DURATION_BUCKETS,
)
GRPC_SERVER_IN_FLIGHT = Gauge(
    "voiceassist_grpc_server_in_flight",
    "RPCs this process is handling right now.",
    ["service", "method"],
)
GRPC_CLIENT_REQUESTS = Counter(
    "voiceassist_grpc_client_requests_total",
    "RPCs this process made to other services, by gRPC service, method and final status code.",
    ["service", "method", "code"],
)
GRPC_CLIENT_DURATION = Histogram(
    "voiceassist_grpc_client_request_duration_seconds",
    "Time from starting an outgoing RPC to its final status, in seconds.",
    ["service", "method"],
    buckets=_DURATION_BUCKETS,
)
GRPC_CLIENT_IN_FLIGHT = Gauge(
    "voiceassist_grpc_client_in_flight",
    "Outgoing RPCs this process is waiting on right now.",
    ["service", "method"],
)
_BUILD_INFO = Gauge(
    "voiceassist_build_info",
    "Always 1: the service this process runs and its version.",
    ["service", "version"],
)


def record_build_info(service: str, version: str) -> None:
    """Publish which service and version this process runs."""
    _BUILD_INFO.labels(service=service, version=version).set(1)


@dataclass(frozen=True)
class MetricsServer:
    """The running ``/metrics`` HTTP endpoint (a background thread)."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        """Where Prometheus scrapes this process."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics_server(host: str, port: int) -> MetricsServer:
    """Serve the default registry on ``http://host:port/metrics`` from a daemon thread.

    Raises OSError when the port cannot be bound. Port 0 picks a free port (see ``.port``).
    """
    server, thread = prometheus_client.start_http_server(port, addr=host)
    return MetricsServer(host=host, port=server.server_port, _server=server, _thread=thread)
