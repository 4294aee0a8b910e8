"""A retried publish stores the event once, and the message carries what consumers need."""

from uuid import uuid4

import pytest
from nats.js import JetStreamContext
from voiceassist_common.events import TriageSessionStarted, new_event
from voiceassist_common.messaging import MSG_ID_HEADER, publish

pytestmark = pytest.mark.integration


def started() -> TriageSessionStarted:
    return TriageSessionStarted(session_id=uuid4(), language="en-GB")


async def test_publishing_the_same_event_twice_stores_it_once(js: JetStreamContext) -> None:
    event = new_event(started(), source="triage")
    messages_before = (await js.stream_info("TRIAGE")).state.messages

    first = await publish(js, event)
    retried = await publish(js, event)

    assert not first.duplicate
    assert retried.duplicate
    assert retried.seq == first.seq
    assert (await js.stream_info("TRIAGE")).state.messages == messages_before + 1


async def test_a_new_event_with_the_same_payload_is_stored_again(js: JetStreamContext) -> None:
    payload = started()

    first = await publish(js, new_event(payload, source="triage"))
    second = await publish(js, new_event(payload, source="triage"))

    assert not second.duplicate
    assert second.seq > first.seq


async def test_the_stored_message_is_the_event_with_its_id_and_trace_headers(
    js: JetStreamContext,
) -> None:
    event = new_event(started(), source="triage")

    ack = await publish(js, event)

    stored = await js.get_msg("TRIAGE", ack.seq)
    assert stored.subject == "triage.session.started"
    assert stored.data == event.to_json()
    assert stored.headers is not None
    assert stored.headers[MSG_ID_HEADER] == str(event.event_id)
    assert stored.headers["traceparent"].startswith("00-")
