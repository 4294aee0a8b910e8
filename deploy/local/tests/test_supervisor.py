import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from voiceassist_localstack.layout import DataDirectory
from voiceassist_localstack.processes import group_alive, is_alive, read_pid_file, wait_for_exit
from voiceassist_localstack.supervisor import (
    Program,
    RestartPolicy,
    Supervisor,
    load_programs,
    save_programs,
)

# A stand-in service: says hello on both streams, optionally starts a grandchild, optionally
# ignores SIGTERM, then either runs until stopped or exits at once (a crash loop).
CHILD = """
import os, signal, subprocess, sys, time
mode = sys.argv[1]
print("hello from stdout", flush=True)
print("hello from stderr", file=sys.stderr, flush=True)
with open(sys.argv[2], "a") as starts:
    starts.write(f"{os.getpid()}\\n")
if mode == "crash":
    sys.exit(3)
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if mode == "parent":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(sys.argv[2] + ".grandchild", "w") as out:
        out.write(str(child.pid))
while True:
    time.sleep(0.1)
"""


def _program(tmp_path: Path, name: str, mode: str) -> Program:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return Program(name=name, argv=[sys.executable, str(script), mode, str(tmp_path / name)])


def _starts(tmp_path: Path, name: str) -> list[int]:
    path = tmp_path / name
    return [int(line) for line in path.read_text().split()] if path.exists() else []


async def _eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30.0
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


RunSupervisor = Callable[..., Awaitable[Supervisor]]


@pytest.fixture
async def run_supervisor(tmp_path: Path) -> AsyncIterator[RunSupervisor]:
    tasks: list[tuple[Supervisor, asyncio.Task[None]]] = []

    async def start(programs: list[Program], **options: object) -> Supervisor:
        supervisor = Supervisor(programs, DataDirectory(tmp_path / "data"), **options)  # type: ignore[arg-type]
        tasks.append((supervisor, asyncio.create_task(supervisor.run())))
        return supervisor

    yield start
    for supervisor, task in tasks:
        supervisor.request_stop()
        await asyncio.wait_for(task, timeout=30)


async def test_a_killed_program_is_started_again_with_a_new_pid(
    tmp_path: Path, run_supervisor: RunSupervisor
) -> None:
    data = DataDirectory(tmp_path / "data")
    await run_supervisor([_program(tmp_path, "triage", "serve")])
    await _eventually(lambda: len(_starts(tmp_path, "triage")) == 1)
    first = _starts(tmp_path, "triage")[0]
    await _eventually(lambda: read_pid_file(data.pid_file("triage")) == first)

    os.kill(first, signal.SIGKILL)

    await _eventually(lambda: len(_starts(tmp_path, "triage")) == 2)
    second = _starts(tmp_path, "triage")[1]
    assert second != first
    await _eventually(lambda: read_pid_file(data.pid_file("triage")) == second)
    assert is_alive(second)


async def test_a_crash_looping_program_keeps_being_restarted(
    tmp_path: Path, run_supervisor: RunSupervisor
) -> None:
    policy = RestartPolicy(max_backoff=0.2, first_delay=0.05)
    await run_supervisor([_program(tmp_path, "stt", "crash")], policy=policy)
    await _eventually(lambda: len(_starts(tmp_path, "stt")) >= 4)


def test_backoff_is_immediate_first_then_doubles_up_to_the_cap() -> None:
    policy = RestartPolicy(max_backoff=5.0, first_delay=0.5)
    delays = [policy.delay(failures) for failures in range(1, 8)]
    assert delays == [0.0, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


async def test_output_goes_to_the_programs_log(
    tmp_path: Path, run_supervisor: RunSupervisor
) -> None:
    log = DataDirectory(tmp_path / "data").log_file("tts")
    await run_supervisor([_program(tmp_path, "tts", "serve")])
    await _eventually(lambda: log.exists() and "hello from stderr" in log.read_text())
    assert "hello from stdout" in log.read_text()


async def test_stop_ends_every_program_and_its_children_and_removes_pid_files(
    tmp_path: Path,
) -> None:
    data = DataDirectory(tmp_path / "data")
    programs = [_program(tmp_path, "auth", "parent"), _program(tmp_path, "admin", "stubborn")]
    supervisor = Supervisor(programs, data, stop_grace=1.0)
    task = asyncio.create_task(supervisor.run())
    grandchild_file = tmp_path / "auth.grandchild"
    await _eventually(lambda: grandchild_file.exists() and bool(grandchild_file.read_text()))
    await _eventually(lambda: len(_starts(tmp_path, "admin")) == 1)
    await _eventually(lambda: data.supervisor_pid_file.exists())
    pids = _starts(tmp_path, "auth") + _starts(tmp_path, "admin")
    grandchild = int(grandchild_file.read_text())

    supervisor.request_stop()
    await asyncio.wait_for(task, timeout=30)

    for pid in [*pids, grandchild]:
        assert wait_for_exit(pid, 5.0), f"pid {pid} survived"
        assert not group_alive(pid)
    assert not list(data.run.glob("*.pid"))


def test_programs_round_trip_through_the_file(tmp_path: Path) -> None:
    programs = [Program("gateway", ["python", "-m", "x"], {"HTTP_PORT": "8080"}, "/srv")]
    path = tmp_path / "programs.json"
    save_programs(path, programs)
    assert load_programs(path) == programs
    assert path.stat().st_mode & 0o077 == 0


def test_supervisor_process_stops_its_programs_on_sigterm(tmp_path: Path) -> None:
    data = DataDirectory(tmp_path / "data")
    data.create()
    save_programs(data.programs_file, [_program(tmp_path, "scheduling", "serve")])
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "voiceassist_localstack", "supervise", "--data-dir", str(data.root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _starts(tmp_path, "scheduling") or not data.supervisor_pid_file.exists():
            assert time.monotonic() < deadline, "supervisor did not start its program"
            time.sleep(0.05)
        child = _starts(tmp_path, "scheduling")[0]
        assert read_pid_file(data.supervisor_pid_file) == supervisor.pid

        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=30) == 0
        assert wait_for_exit(child, 5.0)
        assert not data.supervisor_pid_file.exists()
    finally:
        supervisor.kill()
        supervisor.wait()


async def test_a_program_that_cannot_start_is_retried_without_stopping_the_others(
    tmp_path: Path, run_supervisor: RunSupervisor, caplog: pytest.LogCaptureFixture
) -> None:
    missing = Program(name="tts", argv=[str(tmp_path / "no-such-program")])
    policy = RestartPolicy(max_backoff=0.2, first_delay=0.05)
    await run_supervisor([missing, _program(tmp_path, "stt", "serve")], policy=policy)
    log = DataDirectory(tmp_path / "data").log_file("stt")
    await _eventually(lambda: log.exists() and "hello from stdout" in log.read_text())
    await _eventually(lambda: caplog.text.count("tts could not start") >= 2)
    assert len(_starts(tmp_path, "stt")) == 1
