import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from voiceassist_localstack.ports import free_port
from voiceassist_localstack.readiness import check_readiness


class _Gateway(BaseHTTPRequestHandler):
    status = 200
    body: object = {}

    def do_GET(self) -> None:
        payload = json.dumps(self.body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[str, type[_Gateway]]]:
    handler = type("Handler", (_Gateway,), {})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/readyz", handler
    server.shutdown()
    server.server_close()


def test_every_service_serving_is_ready(gateway: tuple[str, type[_Gateway]]) -> None:
    url, handler = gateway
    handler.body = {
        "status": "ready",
        "services": {"triage": {"status": "SERVING"}, "voice_proxy": {"status": "SERVING"}},
    }
    readiness = check_readiness(url)
    assert readiness.is_ready(["triage", "voice-proxy"])
    assert readiness.serving() == ["triage", "voice-proxy"]


def test_a_missing_or_failing_service_is_named(gateway: tuple[str, type[_Gateway]]) -> None:
    url, handler = gateway
    handler.status = 503
    handler.body = {
        "status": "not_ready",
        "services": {"triage": {"status": "UNAVAILABLE", "reason": "connection refused"}},
    }
    readiness = check_readiness(url)
    assert not readiness.is_ready(["triage", "stt"])
    assert readiness.not_serving(["triage", "stt"]) == ["triage", "stt"]
    assert readiness.services["triage"] == "UNAVAILABLE"
    assert readiness.reasons["triage"] == "connection refused"


def test_a_silent_gateway_is_unreachable() -> None:
    readiness = check_readiness(f"http://127.0.0.1:{free_port()}/readyz", timeout=1)
    assert not readiness.reachable
    assert not readiness.is_ready([])
