"""Request ids: echoed or generated, in every response, the JSON log line and the server span."""

import io
import json
import uuid

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

APPOINTMENT = "/api/v1/scheduling/appointments/{appointment_id}"
UNAVAILABLE = 503  # no scheduling service runs behind these tests


async def test_a_sane_incoming_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"x-request-id": "web-4f1c2a"})
    assert response.headers["x-request-id"] == "web-4f1c2a"


async def test_an_id_is_generated_when_none_is_sent(client: httpx.AsyncClient) -> None:
    first = (await client.get("/healthz")).headers["x-request-id"]
    second = (await client.get("/healthz")).headers["x-request-id"]
    assert uuid.UUID(first).version == 4
    assert first != second


async def test_an_insane_incoming_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"x-request-id": "x" * 500})
    assert uuid.UUID(response.headers["x-request-id"]).version == 4


async def test_error_responses_carry_the_id_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere", headers={"x-request-id": "lost-7"})
    assert response.headers["x-request-id"] == "lost-7"
    assert response.json()["request_id"] == "lost-7"


async def test_the_id_is_in_the_json_log_line_of_the_request(
    client: httpx.AsyncClient, log_stream: io.StringIO
) -> None:
    appointment = uuid.uuid4()
    await client.get(
        f"/api/v1/scheduling/appointments/{appointment}",
        headers={"x-request-id": "c0ffee00-1234-4abc-8def-0123456789ab"},
    )
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    ours = [line for line in lines if line["logger"].startswith("voiceassist_gateway")]
    (access,) = [line for line in ours if line["message"] == "request answered"]
    assert access["request_id"] == "c0ffee00-1234-4abc-8def-0123456789ab"
    assert access["route"] == APPOINTMENT
    assert access["status_code"] == UNAVAILABLE
    assert not any(str(appointment) in json.dumps(line) for line in ours)


async def test_the_server_span_continues_the_callers_trace_and_carries_the_id(
    client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    appointment = uuid.uuid4()
    response = await client.get(
        f"/api/v1/scheduling/appointments/{appointment}?patient=Maria+Gonzalez",
        headers={"traceparent": f"00-{trace_id}-{parent_id}-01"},
    )
    (span,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert span.name == f"GET {APPOINTMENT}"
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == parent_id
    attributes = dict(span.attributes or {})
    assert attributes["voiceassist.request_id"] == response.headers["x-request-id"]
    assert attributes["http.route"] == APPOINTMENT
    assert attributes["http.status_code"] == UNAVAILABLE
    assert attributes["http.target"] == APPOINTMENT
    assert not any("Maria" in str(value) for value in attributes.values())
    assert not any(str(appointment) in str(value) for value in attributes.values())
