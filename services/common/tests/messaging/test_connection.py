"""Connecting waits for a late NATS, gives up in bounded time, and never logs a secret."""

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path

import pytest
from voiceassist_common.messaging import NatsUnavailableError, connect, without_credentials
from voiceassist_localstack.nats import NatsServer
from voiceassist_localstack.ports import free_port


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nats://alice:s3cret@127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("nats://token@nats.clinic.local", "nats://nats.clinic.local"),
        ("tls://127.0.0.1:4443", "tls://127.0.0.1:4443"),
    ],
)
def test_urls_are_shown_without_credentials(url: str, shown: str) -> None:
    assert without_credentials(url) == shown


async def test_an_absent_server_is_given_up_after_the_wait_with_each_attempt_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"nats://alice:s3cret@127.0.0.1:{free_port()}"

    with (
        caplog.at_level(logging.WARNING, logger="voiceassist_common.messaging"),
        pytest.raises(NatsUnavailableError) as caught,
    ):
        await connect(url, name="test", max_wait_seconds=1)

    attempts = [record for record in caplog.records if "not reachable" in record.getMessage()]
    assert len(attempts) >= 2
    assert "s3cret" not in caplog.text
    assert "alice" not in caplog.text
    assert "s3cret" not in str(caught.value)


@pytest.mark.integration
async def test_a_server_that_starts_late_is_waited_for(caplog: pytest.LogCaptureFixture) -> None:
    directory = Path(tempfile.mkdtemp(prefix="va-nats-late-"))
    server = NatsServer(directory / "nats", port=free_port(), monitor_port=free_port())
    try:
        with caplog.at_level(logging.WARNING, logger="voiceassist_common.messaging"):
            connecting = asyncio.create_task(connect(server.url, name="test", max_wait_seconds=60))
            await asyncio.sleep(1)
            assert not connecting.done()
            await asyncio.to_thread(server.start)
            client = await connecting
        try:
            assert client.is_connected
            assert any("not reachable" in record.getMessage() for record in caplog.records)
        finally:
            await client.close()
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
