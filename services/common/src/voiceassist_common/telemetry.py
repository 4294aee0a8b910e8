"""OpenTelemetry tracing for a service process, and trace context across process boundaries.

Spans are always created, export or not, so every log line of a request carries its trace id
and logs of different services can be joined without a collector. Spans leave the process
only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set. Context crosses gRPC metadata and NATS
headers as W3C ``traceparent``/``tracestate`` entries through `inject_context` and
`extract_context`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from voiceassist_common.settings import ServiceSettings

__all__ = ["TelemetryHandle", "extract_context", "inject_context", "setup_telemetry"]

logger = logging.getLogger(__name__)

# W3C trace context only: every hop is ours, so there is no vendor format to interoperate with.
_PROPAGATOR = TraceContextTextMapPropagator()


@dataclass(frozen=True)
class TelemetryHandle:
    """The tracer provider of this process; `shutdown` flushes spans not yet exported."""

    tracer_provider: TracerProvider
    exporting: bool

    def shutdown(self) -> None:
        """Export what is buffered and stop the exporter (call once, at process exit)."""
        self.tracer_provider.shutdown()


def setup_telemetry(
    settings: ServiceSettings,
    *,
    version: str = "unknown",
    exporter: SpanExporter | None = None,
) -> TelemetryHandle:
    """Create the process's tracer provider and make it the global one.

    ``exporter`` replaces the OTLP exporter and sends each span as it ends (tests pass an
    in-memory exporter). Only the first provider of a process becomes global, which matters
    only to tests that run several services in one process.
    """
    resource = Resource.create(
        {
            "service.name": settings.service_name,
            "service.namespace": "voiceassist",
            "service.version": version,
            "deployment.environment.name": settings.environment,
        }
    )
    provider = TracerProvider(resource=resource)
    exporting = False
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        exporting = True
    elif settings.otel_exporter_otlp_endpoint:
        # Imported here: the exporter pulls in a second gRPC stack that most processes skip.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        otlp = OTLPSpanExporter(endpoint=settings.otel_exporter_otlp_endpoint)
        provider.add_span_processor(BatchSpanProcessor(otlp))
        exporting = True
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    else:
        logger.debug("a tracer provider is already installed; keeping it as the global one")
    return TelemetryHandle(tracer_provider=provider, exporting=exporting)


def inject_context(carrier: MutableMapping[str, str], context: Context | None = None) -> None:
    """Write the current (or given) trace context into gRPC metadata or NATS headers."""
    _PROPAGATOR.inject(carrier, context=context)


def extract_context(carrier: Mapping[str, str]) -> Context:
    """Read the trace context a caller wrote with `inject_context`; empty if there is none."""
    return _PROPAGATOR.extract(carrier)
