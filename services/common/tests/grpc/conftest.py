"""Fixtures for the gRPC tests: the probe service on a loopback port, and the spans it makes."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.grpc.server import GrpcServer, start_grpc_server

PROBE_PATH = Path(__file__).with_name("probe_service.py")


def _load_probe() -> ModuleType:
    # Test folders are not packages (importlib import mode), so load the probe by its path.
    name = "voiceassist_probe_service"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PROBE_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def probe() -> ModuleType:
    return _load_probe()


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture
async def probe_server(
    probe: ModuleType, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> AsyncIterator[GrpcServer]:
    provider, _ = spans
    server = await start_grpc_server(
        "127.0.0.1:0", probe.Probe(provider).register, tracer_provider=provider
    )
    yield server
    await server.stop(0)


@pytest.fixture
async def channel(
    probe_server: GrpcServer, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> AsyncIterator[grpc.aio.Channel]:
    provider, _ = spans
    async with create_channel(f"127.0.0.1:{probe_server.port}", tracer_provider=provider) as chan:
        yield chan
