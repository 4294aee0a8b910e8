"""`python -m voiceassist_gateway` serves HTTP and metrics, and stops cleanly on SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from voiceassist_gateway.config import DOWNSTREAM_SERVICES


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def gateway_process() -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    http_port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "VOICEASSIST_ENV": "test",
        "OIDC_CLIENT_SECRET": "test-web-secret",
        "WEB_SESSIONS": "memory",
        "HTTP_PORT": str(http_port),
        "METRICS_PORT": str(metrics_port),
        "READINESS_TIMEOUT_SECONDS": "0.5",
        "SHUTDOWN_GRACE_SECONDS": "2",
    }
    # Nothing listens on these: the downstream services are down for this test.
    for name in DOWNSTREAM_SERVICES:
        env[f"{name.upper().replace('-', '_')}_GRPC_ADDR"] = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceassist_gateway"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process, http_port, metrics_port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def wait_until_serving(process: subprocess.Popen[bytes], url: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"gateway not serving {url} after 30 s"
            time.sleep(0.1)


def test_serves_then_exits_zero_on_sigterm(
    gateway_process: tuple[subprocess.Popen[bytes], int, int],
) -> None:
    process, http_port, metrics_port = gateway_process
    base = f"http://127.0.0.1:{http_port}"

    health = wait_until_serving(process, f"{base}/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "alive"}

    readiness = httpx.get(f"{base}/readyz", timeout=5)
    assert readiness.status_code == 503
    services = readiness.json()["services"]
    assert len(services) == 9
    assert services["triage"]["status"] == "UNAVAILABLE"

    metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    assert 'voiceassist_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    logged = process.stderr.read().decode() if process.stderr else ""
    assert '"message": "gateway stopped"' in logged
