"""Fixtures for messaging tests: a JetStream context on the session's real NATS server."""

from collections.abc import AsyncIterator, Iterator

import pytest
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from voiceassist_common.messaging import connect, ensure_streams


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    """Yield a connected JetStream context with the VoiceAssist streams declared."""
    client = await connect(nats_url, name="voiceassist-common-tests", max_wait_seconds=10)
    try:
        context = client.jetstream()
        await ensure_streams(context)
        yield context
    finally:
        await client.close()


@pytest.fixture(scope="session")
def _span_exporter() -> InMemorySpanExporter:
    # One process-wide provider: OpenTelemetry lets the global one be set only once.
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def spans(_span_exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    """Yield the exporter holding the spans finished during one test."""
    _span_exporter.clear()
    yield _span_exporter
    _span_exporter.clear()
