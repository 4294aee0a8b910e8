"""Spans exist without a collector, carry the service's name and cross process boundaries."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from voiceassist_common.settings import ServiceSettings, load_settings
from voiceassist_common.telemetry import extract_context, inject_context, setup_telemetry


def settings(**overrides: object) -> ServiceSettings:
    return load_settings(
        ServiceSettings, service_name="triage", grpc_port=50056, metrics_port=9107, **overrides
    )


def test_without_an_endpoint_spans_get_real_ids_but_nothing_is_exported() -> None:
    handle = setup_telemetry(settings())
    try:
        with handle.tracer_provider.get_tracer("test").start_as_current_span("work") as span:
            assert span.get_span_context().is_valid
            assert trace.get_current_span() is span
    finally:
        handle.shutdown()

    assert handle.exporting is False


def test_spans_carry_the_service_name_version_and_environment() -> None:
    exporter = InMemorySpanExporter()
    handle = setup_telemetry(settings(environment="test"), version="1.2.3", exporter=exporter)
    with handle.tracer_provider.get_tracer("test").start_as_current_span("work"):
        pass
    handle.shutdown()

    (span,) = exporter.get_finished_spans()
    resource = dict(span.resource.attributes)
    assert resource["service.name"] == "triage"
    assert resource["service.version"] == "1.2.3"
    assert resource["deployment.environment.name"] == "test"


def test_an_otlp_endpoint_turns_export_on() -> None:
    handle = setup_telemetry(settings(otel_exporter_otlp_endpoint="http://127.0.0.1:1"))
    handle.shutdown()

    assert handle.exporting is True


def test_context_written_into_headers_is_read_back_on_the_other_side() -> None:
    exporter = InMemorySpanExporter()
    handle = setup_telemetry(settings(), exporter=exporter)
    headers: dict[str, str] = {}
    with handle.tracer_provider.get_tracer("test").start_as_current_span("publish") as sender:
        inject_context(headers)
    receiver_parent = trace.get_current_span(extract_context(headers)).get_span_context()
    handle.shutdown()

    assert headers["traceparent"].startswith("00-")
    assert receiver_parent.trace_id == sender.get_span_context().trace_id
    assert receiver_parent.span_id == sender.get_span_context().span_id
    assert receiver_parent.is_remote


def test_headers_without_context_give_an_empty_context() -> None:
    assert not trace.get_current_span(extract_context({})).get_span_context().is_valid
