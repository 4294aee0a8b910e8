import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from voiceassist_localstack.nats import NatsError, NatsServer
from voiceassist_localstack.ports import free_port
from voiceassist_localstack.processes import is_alive

pytestmark = pytest.mark.integration


@pytest.fixture
def own_server() -> Iterator[NatsServer]:
    path = Path(tempfile.mkdtemp(prefix="va-natst-"))
    server = NatsServer(path / "nats", port=free_port(), monitor_port=free_port())
    yield server
    server.stop()
    shutil.rmtree(path, ignore_errors=True)


async def test_session_server_accepts_jetstream_publishes(nats_url: str) -> None:
    client = await nats.connect(nats_url)
    try:
        stream = client.jetstream()
        await stream.add_stream(name="PLUGIN_CHECK", subjects=["plugin.check.>"])
        ack = await stream.publish("plugin.check.one", b"hello")
    finally:
        await client.close()
    assert ack.stream == "PLUGIN_CHECK"
    assert ack.seq == 1


async def test_streams_and_messages_survive_a_restart(own_server: NatsServer) -> None:
    own_server.start()
    client = await nats.connect(own_server.url)
    await client.jetstream().add_stream(name="AUDIT", subjects=["audit.>"])
    await client.jetstream().publish("audit.login", b"kept")
    await client.close()

    own_server.stop()
    assert not own_server.is_running()
    own_server.start()

    client = await nats.connect(own_server.url)
    try:
        message = await client.jetstream().get_msg("AUDIT", 1)
    finally:
        await client.close()
    assert message.data == b"kept"


def test_starting_twice_reuses_the_running_server(own_server: NatsServer) -> None:
    own_server.start()
    first_pid = own_server.pid
    own_server.start()
    assert own_server.pid == first_pid


def test_stop_leaves_no_server_behind(own_server: NatsServer) -> None:
    own_server.start()
    pid = own_server.pid
    assert pid is not None
    own_server.stop()
    assert not is_alive(pid)


def test_a_taken_port_is_reported_with_the_server_log(own_server: NatsServer) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", own_server.port))
        squatter.listen()
        with pytest.raises(NatsError, match="exited"):
            own_server.start(timeout=20)
