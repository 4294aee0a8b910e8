import socket

from voiceassist_localstack.ports import free_port, free_port_block, is_listening


def test_a_free_port_has_no_listener() -> None:
    assert not is_listening("127.0.0.1", free_port())


def test_a_listener_is_seen() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert is_listening("127.0.0.1", server.getsockname()[1])


def test_a_block_of_ports_can_all_be_bound() -> None:
    base = free_port_block(9)
    sockets = [socket.socket() for _ in range(9)]
    try:
        for offset, sock in enumerate(sockets):
            sock.bind(("127.0.0.1", base + offset))
    finally:
        for sock in sockets:
            sock.close()
