"""The /metrics endpoint serves the voiceassist_ metrics and frees its port on close."""

from __future__ import annotations

import http.client
import socket

from voiceassist_common.metrics import record_build_info, start_metrics_server


def fetch(port: int, path: str = "/metrics") -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def test_serves_build_info_and_the_rpc_metric_families() -> None:
    server = start_metrics_server("127.0.0.1", 0)
    try:
        record_build_info("triage", "0.1.0")
        page = fetch(server.port)
    finally:
        server.close()

    assert server.url == f"http://127.0.0.1:{server.port}/metrics"
    assert 'voiceassist_build_info{service="triage",version="0.1.0"} 1.0' in page
    for family in (
        "voiceassist_grpc_server_requests_total",
        "voiceassist_grpc_server_request_duration_seconds",
        "voiceassist_grpc_server_in_flight",
        "voiceassist_grpc_client_requests_total",
        "voiceassist_grpc_client_request_duration_seconds",
        "voiceassist_grpc_client_in_flight",
    ):
        assert f"# HELP {family} " in page
    assert "_created" not in page


def test_close_releases_the_port() -> None:
    server = start_metrics_server("127.0.0.1", 0)
    server.close()

    with socket.socket() as again:
        again.bind(("127.0.0.1", server.port))
