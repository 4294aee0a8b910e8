"""Free loopback ports for throwaway servers, so tests never collide with `make up` or others."""

from __future__ import annotations

import secrets
import socket


def free_port(host: str = "127.0.0.1") -> int:
    """Return a port nobody listens on right now (the OS picks; a tiny race is fine in tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def is_listening(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def free_port_block(count: int, host: str = "127.0.0.1") -> int:
    """Return the first of `count` consecutive ports that are all free right now.

    The services' ports derive from one base, so a test platform needs a whole free run of them.
    Searched below the kernel's ephemeral range, where the OS does not hand out ports itself.
    """
    for _ in range(200):
        base = secrets.randbelow(30000 - count) + 2000
        if all(_bindable(host, port) for port in range(base, base + count)):
            return base
    raise RuntimeError(f"no block of {count} free ports found on {host}")


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True
