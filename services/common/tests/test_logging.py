"""A log line carrying seeded PHI comes out redacted, and still says what happened."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from voiceassist_common.logging import bind_log_context, configure_logging, log_context, safe

SEEDED_NAME = "Maria Gonzalez"
SEEDED_PHONE = "+1 415 555 0199"
SEEDED_DOB = "1984-03-07"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    configure_logging("triage", "DEBUG", stream=stream)
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_seeded_phi_in_the_message_is_redacted(log_stream: io.StringIO) -> None:
    logging.getLogger("voiceassist.test").info(
        f"Booked appointment for {SEEDED_NAME}, phone {SEEDED_PHONE}, born {SEEDED_DOB}"
    )
    output = log_stream.getvalue()
    for seeded in (SEEDED_NAME, "Gonzalez", "555 0199", SEEDED_DOB):
        assert seeded not in output
    (line,) = lines(log_stream)
    assert line["message"] == "Booked appointment for [NAME], phone [PHONE], born [DATE]"
    assert line["service"] == "triage"
    assert line["level"] == "INFO"


def test_seeded_phi_in_arguments_and_fields_is_redacted(log_stream: io.StringIO) -> None:
    logging.getLogger("voiceassist.test").warning(
        "caller %s on %s",
        SEEDED_NAME,
        SEEDED_PHONE,
        extra={"patient_name": SEEDED_NAME, "dob": SEEDED_DOB, "urgency": "emergency"},
    )
    output = log_stream.getvalue()
    for seeded in (SEEDED_NAME, "555 0199", SEEDED_DOB):
        assert seeded not in output
    (line,) = lines(log_stream)
    assert line["patient_name"] == "[REDACTED:NAME]"
    assert line["dob"] == "[REDACTED:DATE]"
    assert line["urgency"] == "emergency"


def test_phi_inside_a_traceback_is_redacted(log_stream: io.StringIO) -> None:
    try:
        raise ValueError(f"no slot for {SEEDED_NAME} ({SEEDED_PHONE})")
    except ValueError:
        logging.getLogger("voiceassist.test").exception("booking failed")
    output = log_stream.getvalue()
    assert SEEDED_NAME not in output
    assert "555 0199" not in output
    assert "ValueError" in lines(log_stream)[0]["exception"]  # type: ignore[operator]


def test_transcripts_need_an_explicit_safe_mark(log_stream: io.StringIO) -> None:
    log = logging.getLogger("voiceassist.test")
    log.info("heard", extra={"transcript": "I have crushing chest pain"})
    log.info("heard", extra={"transcript": safe("yes")})
    first, second = lines(log_stream)
    assert first["transcript"] == "[REDACTED:TEXT]"
    assert second["transcript"] == "yes"


def test_bound_context_and_trace_ids_are_on_every_line(log_stream: io.StringIO) -> None:
    tracer = TracerProvider().get_tracer("test")
    log = logging.getLogger("voiceassist.test")
    with log_context(request_id="req-123"), tracer.start_as_current_span("work") as span:
        log.info("inside")
    log.info("outside")
    inside, outside = lines(log_stream)
    assert inside["request_id"] == "req-123"
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert "request_id" not in outside
    assert "trace_id" not in outside


def test_bind_log_context_applies_to_the_current_context(log_stream: io.StringIO) -> None:
    import contextvars

    def handle() -> None:
        bind_log_context(request_id="req-9")
        logging.getLogger("voiceassist.test").info("handled")

    contextvars.copy_context().run(handle)
    logging.getLogger("voiceassist.test").info("after")
    handled, after = lines(log_stream)
    assert handled["request_id"] == "req-9"
    assert "request_id" not in after


def test_library_loggers_go_through_the_redactor(log_stream: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").info("client %s", "maria.gonzalez@example.org")
    assert "maria.gonzalez@example.org" not in log_stream.getvalue()
    assert lines(log_stream)[0]["message"] == "client [EMAIL]"
