"""Key-value buckets are created on first use and keep their values across openings."""

from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import uuid4

import pytest
from nats.js import JetStreamContext
from voiceassist_common.messaging import key_value

pytestmark = pytest.mark.integration


@pytest.fixture
async def bucket(js: JetStreamContext) -> AsyncIterator[str]:
    name = f"test_{uuid4().hex[:12]}"
    yield name
    await js.delete_key_value(name)


async def test_a_value_put_is_read_back_from_a_later_opening(
    js: JetStreamContext, bucket: str
) -> None:
    sessions = await key_value(js, bucket, ttl=timedelta(minutes=5))
    await sessions.put("call-1", b"voice-proxy-0")

    reopened = await key_value(js, bucket, ttl=timedelta(minutes=5))

    entry = await reopened.get("call-1")
    assert entry.value == b"voice-proxy-0"


async def test_history_keeps_earlier_values_when_asked(js: JetStreamContext, bucket: str) -> None:
    routes = await key_value(js, bucket, history=3)
    for value in (b"a", b"b", b"c"):
        await routes.put("call-1", value)

    history = await routes.history("call-1")

    assert [entry.value for entry in history] == [b"a", b"b", b"c"]


async def test_an_existing_bucket_is_brought_to_the_requested_settings(
    js: JetStreamContext, bucket: str
) -> None:
    await key_value(js, bucket)

    await key_value(js, bucket, ttl=timedelta(hours=1), history=2)

    status = await (await js.key_value(bucket)).status()
    assert status.ttl == 3600
    assert status.history == 2
