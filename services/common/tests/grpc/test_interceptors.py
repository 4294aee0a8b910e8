"""Every RPC, in each of the four call shapes, is traced, measured, mapped and time-bounded."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.grpc.server import GrpcServer, start_grpc_server
from voiceassist_common.logging import JsonFormatter

Spans = tuple[TracerProvider, InMemorySpanExporter]

DOMAIN_ERRORS = [
    ("InvalidArgument", grpc.StatusCode.INVALID_ARGUMENT),
    ("NotFound", grpc.StatusCode.NOT_FOUND),
    ("AlreadyExists", grpc.StatusCode.ALREADY_EXISTS),
    ("FailedPrecondition", grpc.StatusCode.FAILED_PRECONDITION),
    ("PermissionDenied", grpc.StatusCode.PERMISSION_DENIED),
    ("Unauthenticated", grpc.StatusCode.UNAUTHENTICATED),
    ("ResourceExhausted", grpc.StatusCode.RESOURCE_EXHAUSTED),
    ("Unavailable", grpc.StatusCode.UNAVAILABLE),
    ("CapabilityNotBuilt", grpc.StatusCode.UNIMPLEMENTED),
    ("DeadlineExceeded", grpc.StatusCode.DEADLINE_EXCEEDED),
]


def shapes(stub: Any) -> dict[str, Callable[[str], Awaitable[Any]]]:
    """One way to send a command through each call shape of the probe."""
    return {
        "Echo": stub.echo,
        "Expand": stub.expand,
        "Collect": lambda text: stub.collect("hello", text),
        "Chat": lambda text: stub.chat("hello", text),
    }


async def failure_of(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def eventually(check: Callable[[], bool]) -> None:
    """Client metrics land from the call's done callback, a loop iteration after the reply."""
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.01)
    assert check()


@pytest.mark.parametrize(("error", "code"), DOMAIN_ERRORS)
async def test_a_domain_error_becomes_its_status_code_with_its_message(
    probe: ModuleType, channel: grpc.aio.Channel, error: str, code: grpc.StatusCode
) -> None:
    failure = await failure_of(probe.ProbeStub(channel).echo(f"fail {error}"))

    assert failure.code() is code
    if error == "CapabilityNotBuilt":
        assert failure.details() == (
            "this operation is not available yet: the probe capability (issue #99) is not built"
        )
    else:
        assert failure.details() == f"probe asked for {error}"


@pytest.mark.parametrize("shape", ["Echo", "Expand", "Collect", "Chat"])
async def test_every_call_shape_maps_domain_errors(
    probe: ModuleType, channel: grpc.aio.Channel, shape: str
) -> None:
    failure = await failure_of(shapes(probe.ProbeStub(channel))[shape]("fail NotFound"))

    assert failure.code() is grpc.StatusCode.NOT_FOUND
    assert failure.details() == "probe asked for NotFound"


@pytest.mark.parametrize("shape", ["Echo", "Expand", "Collect", "Chat"])
async def test_an_unexpected_error_is_internal_and_hides_the_exception(
    probe: ModuleType,
    channel: grpc.aio.Channel,
    shape: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        failure = await failure_of(shapes(probe.ProbeStub(channel))[shape]("crash"))

    assert failure.code() is grpc.StatusCode.INTERNAL
    details = failure.details() or ""
    for leaked in ("Jane", "RuntimeError", "555-0100"):
        assert leaked not in details
    match = re.fullmatch(r"internal error \(error id ([0-9a-f]{32})\)", details)
    assert match is not None, details
    logged = [record for record in caplog.records if match.group(1) in record.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert logged[0].exc_info[0] is RuntimeError


async def test_a_status_the_handler_aborts_with_is_kept_and_counted(
    probe: ModuleType, channel: grpc.aio.Channel
) -> None:
    labels = {"service": probe.SERVICE_NAME, "method": "Echo", "code": "OUT_OF_RANGE"}
    before = sample("voiceassist_grpc_server_requests_total", **labels)

    failure = await failure_of(probe.ProbeStub(channel).echo("abort"))

    assert failure.code() is grpc.StatusCode.OUT_OF_RANGE
    assert failure.details() == "aborted by the handler"
    # The caller hears an abort a moment before the interceptor counts it.
    await eventually(
        lambda: sample("voiceassist_grpc_server_requests_total", **labels) == before + 1
    )


async def test_every_call_shape_answers_normally_through_the_interceptors(
    probe: ModuleType, channel: grpc.aio.Channel
) -> None:
    stub = probe.ProbeStub(channel)

    assert await stub.echo("hello") == "hello"
    assert await stub.expand("hello") == ["first", "hello"]
    assert await stub.collect("a", "b") == "a,b"
    assert await stub.chat("a", "b") == ["a", "b"]


@pytest.mark.parametrize("shape", ["Echo", "Expand", "Collect", "Chat"])
async def test_server_and_client_red_metrics_count_each_call_with_its_labels(
    probe: ModuleType, channel: grpc.aio.Channel, shape: str
) -> None:
    ok = {"service": probe.SERVICE_NAME, "method": shape, "code": "OK"}
    failed = {**ok, "code": "NOT_FOUND"}
    timed = {"service": probe.SERVICE_NAME, "method": shape}
    server_ok = sample("voiceassist_grpc_server_requests_total", **ok)
    server_failed = sample("voiceassist_grpc_server_requests_total", **failed)
    client_ok = sample("voiceassist_grpc_client_requests_total", **ok)
    client_failed = sample("voiceassist_grpc_client_requests_total", **failed)
    durations = sample("voiceassist_grpc_server_request_duration_seconds_count", **timed)
    call = shapes(probe.ProbeStub(channel))[shape]

    await call("hello")
    await failure_of(call("fail NotFound"))

    assert sample("voiceassist_grpc_server_requests_total", **ok) == server_ok + 1
    assert sample("voiceassist_grpc_server_requests_total", **failed) == server_failed + 1
    assert sample("voiceassist_grpc_server_request_duration_seconds_count", **timed) == (
        durations + 2
    )
    assert sample("voiceassist_grpc_server_in_flight", **timed) == 0
    await eventually(
        lambda: sample("voiceassist_grpc_client_requests_total", **ok) == client_ok + 1
        and sample("voiceassist_grpc_client_requests_total", **failed) == client_failed + 1
    )
    await eventually(lambda: sample("voiceassist_grpc_client_in_flight", **timed) == 0)


async def test_in_flight_counts_a_call_until_it_ends(
    probe: ModuleType, channel: grpc.aio.Channel
) -> None:
    labels = {"service": probe.SERVICE_NAME, "method": "Echo"}
    call = asyncio.create_task(probe.ProbeStub(channel).echo("sleep 0.5"))

    await eventually(lambda: sample("voiceassist_grpc_server_in_flight", **labels) == 1)
    assert sample("voiceassist_grpc_client_in_flight", **labels) == 1
    assert await call == "slept"
    await eventually(lambda: sample("voiceassist_grpc_client_in_flight", **labels) == 0)
    assert sample("voiceassist_grpc_server_in_flight", **labels) == 0


async def test_label_values_carry_no_request_data(
    probe: ModuleType, channel: grpc.aio.Channel
) -> None:
    await failure_of(probe.ProbeStub(channel).echo("crash"))

    exposition = "\n".join(
        f"{sample.name} {sample.labels}"
        for metric in REGISTRY.collect()
        for sample in metric.samples
    )
    assert "Jane" not in exposition
    assert "crash" not in exposition


async def test_trace_context_flows_from_client_through_a_server_to_the_next_server(
    probe: ModuleType, probe_server: GrpcServer, channel: grpc.aio.Channel, spans: Spans
) -> None:
    provider, exporter = spans
    downstream = await start_grpc_server(
        "127.0.0.1:0", probe.Probe(provider).register, tracer_provider=provider
    )
    try:
        reply = await probe.ProbeStub(channel).echo(f"relay 127.0.0.1:{downstream.port} trace")
    finally:
        await downstream.stop(0)

    finished = exporter.get_finished_spans()
    path = f"/{probe.SERVICE_NAME}/Echo"
    client_spans = [span for span in finished if span.kind is SpanKind.CLIENT]
    server_spans = [span for span in finished if span.kind is SpanKind.SERVER]
    assert [span.name for span in client_spans] == [path, path]
    assert [span.name for span in server_spans] == [path, path]
    trace_ids = {span.context.trace_id for span in finished}
    assert len(trace_ids) == 1
    # The downstream handler saw the same trace as the first client, so its logs join too.
    assert reply == format(trace_ids.pop(), "032x")
    parents = {
        span.context.span_id: span.parent.span_id if span.parent else None for span in finished
    }
    kinds = {span.context.span_id: span.kind for span in finished}
    chain = [span_id for span_id, parent in parents.items() if parent is None]
    while child := [span_id for span_id, parent in parents.items() if parent == chain[-1]]:
        chain.extend(child)
    # client -> server -> (relay) client -> server, each the parent of the next
    assert [kinds[span_id] for span_id in chain] == [
        SpanKind.CLIENT,
        SpanKind.SERVER,
        SpanKind.CLIENT,
        SpanKind.SERVER,
    ]
    assert dict(server_spans[0].attributes or {})["rpc.service"] == probe.SERVICE_NAME


async def test_a_server_span_records_the_status_without_the_exception_text(
    probe: ModuleType, channel: grpc.aio.Channel, spans: Spans
) -> None:
    _, exporter = spans
    await failure_of(probe.ProbeStub(channel).echo("crash"))

    server_span = next(s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER)
    attributes = dict(server_span.attributes or {})
    assert attributes["rpc.grpc.status_code"] == grpc.StatusCode.INTERNAL.value[0]
    assert attributes["error.type"] == "RuntimeError"
    assert not server_span.status.is_ok
    assert "Jane" not in repr(server_span.to_json())


async def test_health_checks_are_measured_but_not_traced(
    channel: grpc.aio.Channel, spans: Spans
) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    _, exporter = spans
    labels = {"service": "grpc.health.v1.Health", "method": "Check", "code": "OK"}
    before = sample("voiceassist_grpc_server_requests_total", **labels)

    await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())

    assert sample("voiceassist_grpc_server_requests_total", **labels) == before + 1
    assert exporter.get_finished_spans() == ()


async def test_a_downstream_call_gets_no_more_time_than_the_caller_left(
    probe: ModuleType, probe_server: GrpcServer, channel: grpc.aio.Channel, spans: Spans
) -> None:
    provider, _ = spans
    downstream = await start_grpc_server(
        "127.0.0.1:0", probe.Probe(provider).register, tracer_provider=provider
    )
    relay = f"relay 127.0.0.1:{downstream.port} deadline"
    try:
        # The relaying handler asks for 30 s; its caller allowed 5 s.
        bounded = float(await probe.ProbeStub(channel).echo(relay, seconds=5))
        unbounded = float(await probe.ProbeStub(channel).echo(relay))
    finally:
        await downstream.stop(0)

    assert 0 < bounded <= 5.1  # gRPC rounds deadlines up by a few milliseconds
    assert 25 < unbounded <= 30.1


async def test_a_call_past_the_callers_deadline_fails_as_deadline_exceeded(
    probe: ModuleType, channel: grpc.aio.Channel
) -> None:
    labels = {"service": probe.SERVICE_NAME, "method": "Echo", "code": "DEADLINE_EXCEEDED"}
    before = sample("voiceassist_grpc_server_requests_total", **labels)

    failure = await failure_of(probe.ProbeStub(channel).echo("sleep 5", seconds=0.2))

    assert failure.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    await eventually(
        lambda: sample("voiceassist_grpc_server_requests_total", **labels) == before + 1
    )


async def test_a_channel_from_create_channel_keeps_caller_metadata(
    probe: ModuleType, probe_server: GrpcServer
) -> None:
    async with create_channel(f"127.0.0.1:{probe_server.port}") as plain:
        call = plain.unary_unary(
            f"/{probe.SERVICE_NAME}/Echo",
            request_serializer=probe.StringValue.SerializeToString,
            response_deserializer=probe.StringValue.FromString,
        )
        metadata = (("x-request-id", "r-1"),)
        reply = await call(probe.StringValue(value="header x-request-id"), metadata=metadata)

    assert reply.value == "r-1"


async def test_a_handlers_log_line_names_the_method_and_trace_without_the_phi(
    probe: ModuleType, channel: grpc.aio.Channel, spans: Spans
) -> None:
    _, exporter = spans
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter("probe"))
    interceptor_log = logging.getLogger("voiceassist_common.grpc.interceptors")
    interceptor_log.addHandler(handler)
    try:
        failure = await failure_of(probe.ProbeStub(channel).echo("crash"))
    finally:
        interceptor_log.removeHandler(handler)

    (line,) = [json.loads(text) for text in lines.getvalue().splitlines()]
    server_span = next(s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER)
    assert line["rpc_method"] == f"/{probe.SERVICE_NAME}/Echo"
    assert line["trace_id"] == format(server_span.context.trace_id, "032x")
    error_id = (failure.details() or "").removeprefix("internal error (error id ").rstrip(")")
    assert (
        line["message"] == f"unexpected error in /{probe.SERVICE_NAME}/Echo (error id {error_id})"
    )
    for leaked in ("Jane Doe", "1950-02-03", "555-0100"):
        assert leaked not in json.dumps(line)
    assert "RuntimeError" in line["exception"]


async def test_a_stream_the_client_cancels_is_counted_as_cancelled_and_leaves_no_call_in_flight(
    probe: ModuleType, channel: grpc.aio.Channel
) -> None:
    labels = {"service": probe.SERVICE_NAME, "method": "Expand"}
    cancelled = {**labels, "code": "CANCELLED"}
    before = sample("voiceassist_grpc_server_requests_total", **cancelled)
    call = channel.unary_stream(
        f"/{probe.SERVICE_NAME}/Expand",
        request_serializer=probe.StringValue.SerializeToString,
        response_deserializer=probe.StringValue.FromString,
    )(probe.StringValue(value="sleep 30"))

    first: Any = await call.read()
    call.cancel()

    assert first.value == "first"
    counter = "voiceassist_grpc_server_requests_total"
    await eventually(lambda: sample(counter, **cancelled) == before + 1)
    assert sample("voiceassist_grpc_server_in_flight", **labels) == 0
    await eventually(lambda: sample("voiceassist_grpc_client_in_flight", **labels) == 0)
