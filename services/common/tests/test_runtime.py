"""A service process serves until SIGTERM, lets in-flight calls finish and exits 0."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import grpc
import pytest
from google.protobuf import wrappers_pb2
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.runtime import read_command, serve
from voiceassist_common.settings import ServiceSettings, load_settings
from voiceassist_common.testing import (
    free_port,
    health_status,
    sample_value,
    scrape_metrics,
    service_process,
)

PROBE_DIR = Path(__file__).parent / "grpc"
_PATH = [str(PROBE_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
PROBE_ENV = {"PYTHONPATH": os.pathsep.join(_PATH)}
ECHO = "/voiceassist.probe.v1.ProbeService/Echo"
ECHO_LABELS = {"service": "voiceassist.probe.v1.ProbeService", "method": "Echo"}


def log_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_sigterm_lets_the_call_in_flight_finish_then_exits_0() -> None:
    async with (
        service_process("probe_service", env=PROBE_ENV) as service,
        create_channel(service.grpc_address) as channel,
    ):
        value = wrappers_pb2.StringValue
        echo = channel.unary_unary(ECHO, value.SerializeToString, value.FromString)
        slow = echo(value(value="sleep 1.5"))  # the call starts now; awaited below
        for _ in range(200):
            exposition = await scrape_metrics(service)
            if sample_value(exposition, "voiceassist_grpc_server_in_flight", **ECHO_LABELS):
                break
            await asyncio.sleep(0.05)

        status = await service.terminate()
        reply = await slow

    assert reply.value == "slept"
    assert status == 0
    messages = [line["message"] for line in log_lines(service.log())]
    assert any(str(m).startswith("probe unknown serving gRPC on 127.0.0.1:") for m in messages)
    assert "received SIGTERM" in messages
    assert messages[-1] == "probe stopped"


async def test_the_metrics_page_says_which_service_runs() -> None:
    async with service_process("probe_service", env=PROBE_ENV) as service:
        exposition = await scrape_metrics(service)

    labels = {"service": "probe", "version": "unknown"}
    assert sample_value(exposition, "voiceassist_build_info", **labels) == 1


async def run_probe_until_exit(env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "probe_service",
        env={**os.environ, **PROBE_ENV, "VOICEASSIST_ENV": "test", **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            _, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_a_taken_grpc_port_stops_the_start_naming_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, log = await run_probe_until_exit(
            {"GRPC_PORT": str(port), "METRICS_PORT": str(free_port())}
        )

    assert status == 1
    assert f"cannot listen for gRPC on 127.0.0.1:{port}" in log
    assert "GRPC_HOST/GRPC_PORT" in log


async def test_a_taken_metrics_port_stops_the_start_naming_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, log = await run_probe_until_exit(
            {"GRPC_PORT": str(free_port()), "METRICS_PORT": str(port)}
        )

    assert status == 1
    assert f"cannot serve metrics on 127.0.0.1:{port}" in log
    assert "METRICS_HOST/METRICS_PORT" in log


async def test_startup_runs_before_registering_and_shutdown_after_serving() -> None:
    events: list[str] = []
    settings = load_settings(
        ServiceSettings,
        service_name="hooks",
        grpc_port=free_port(),
        metrics_port=free_port(),
        shutdown_grace_seconds=1,
    )

    def register(server: grpc.aio.Server) -> Sequence[str]:
        events.append("register")
        return ()

    async def on_startup() -> None:
        events.append("startup")

    async def on_shutdown() -> None:
        events.append("shutdown")

    stop = asyncio.Event()
    serving = asyncio.create_task(
        serve(
            settings,
            register=register,
            on_startup=on_startup,
            on_shutdown=on_shutdown,
            stop=stop,
        )
    )
    async with create_channel(f"127.0.0.1:{settings.grpc_port}") as channel:
        while True:
            try:
                if await health_status(channel, seconds=1) == "SERVING":
                    break
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.05)
    events.append("serving")
    stop.set()
    await serving

    assert events == ["startup", "register", "serving", "shutdown"]


def test_the_command_defaults_to_serve() -> None:
    assert read_command([], prog="triage", migrates=True) == "serve"
    assert read_command(["serve"], prog="stt", migrates=False) == "serve"
    assert read_command(["migrate"], prog="triage", migrates=True) == "migrate"


def test_a_service_without_tables_has_no_migrate_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        read_command(["migrate"], prog="stt", migrates=False)

    assert exited.value.code == 2
    assert "invalid choice: 'migrate'" in capsys.readouterr().err
