"""Keeps every service process running: starts them, restarts any that exits, stops them all.

`make up` starts this as a detached process; `make down` sends it SIGTERM. It knows nothing about
VoiceAssist: it runs the programs listed in a JSON file (written by `up`), so its restart and
shutdown behaviour can be tested with throwaway programs.

Restart policy: a program that exits is started again at once the first time (a SIGKILLed
service must be back within seconds), then with exponential backoff capped at `max_backoff` while
it keeps crashing, and the count resets once it has stayed up for `stable_after` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from voiceassist_localstack.layout import DataDirectory
from voiceassist_localstack.processes import write_pid_file

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Program:
    """A process to keep running: its name (for logs and PID files), argv, environment, cwd."""

    name: str
    argv: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None


def save_programs(path: Path, programs: list[Program]) -> None:
    """Write `programs` for a supervisor to read; readable by root only (it holds the DB DSN)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(program) for program in programs], indent=2))
    path.chmod(0o600)


def load_programs(path: Path) -> list[Program]:
    """Read what `save_programs` wrote."""
    return [Program(**entry) for entry in json.loads(path.read_text())]


@dataclass(frozen=True)
class RestartPolicy:
    """How quickly a program that exited is started again."""

    max_backoff: float = 5.0
    stable_after: float = 30.0
    first_delay: float = 0.5

    def delay(self, consecutive_failures: int) -> float:
        """Return the wait before restart number `consecutive_failures` (1 = the first)."""
        if consecutive_failures <= 1:
            return 0.0
        doubled: float = self.first_delay * 2.0 ** (consecutive_failures - 2)
        return min(self.max_backoff, doubled)


class Supervisor:
    """Runs `programs`, logging each to `<data>/logs/<name>.log` with `<data>/run/<name>.pid`."""

    def __init__(
        self,
        programs: list[Program],
        data: DataDirectory,
        *,
        policy: RestartPolicy | None = None,
        stop_grace: float = 10.0,
    ) -> None:
        self._programs = programs
        self._data = data
        self._policy = policy or RestartPolicy()
        self._stop_grace = stop_grace
        self._stopping = asyncio.Event()
        self._running: dict[str, asyncio.subprocess.Process] = {}

    def request_stop(self) -> None:
        """Begin a graceful shutdown (what SIGTERM and SIGINT do)."""
        self._stopping.set()

    async def run(self) -> None:
        """Keep every program running until asked to stop, then stop them all and return."""
        self._data.create()
        write_pid_file(self._data.supervisor_pid_file, os.getpid())
        try:
            async with asyncio.TaskGroup() as group:
                for program in self._programs:
                    group.create_task(self._keep_running(program))
        finally:
            self._data.supervisor_pid_file.unlink(missing_ok=True)

    async def _keep_running(self, program: Program) -> None:
        failures = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                process = await self._start(program)
            except OSError as error:
                # A program that cannot even be executed is retried like one that crashed.
                outcome = f"could not start ({error})"
            else:
                outcome = f"exited with {await self._wait_or_stop(program, process)}"
            if self._stopping.is_set():
                break
            uptime = time.monotonic() - started
            failures = 1 if uptime >= self._policy.stable_after else failures + 1
            delay = self._policy.delay(failures)
            logger.warning(
                "%s %s after %.1fs; restarting in %.1fs", program.name, outcome, uptime, delay
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)

    async def _start(self, program: Program) -> asyncio.subprocess.Process:
        log_path = self._data.log_file(program.name)
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *program.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env={**os.environ, **program.environment},
                cwd=program.cwd,
                # Its own process group, so stopping it also stops anything it spawned.
                start_new_session=True,
            )
        self._running[program.name] = process
        write_pid_file(self._data.pid_file(program.name), process.pid)
        logger.info("started %s (pid %d)", program.name, process.pid)
        return process

    async def _wait_or_stop(self, program: Program, process: asyncio.subprocess.Process) -> int:
        exited = asyncio.ensure_future(process.wait())
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not exited.done():
            await self._stop(program, process)
        exit_code = await exited
        # Whatever the service left behind in its group goes with it.
        _signal_group(process.pid, signal.SIGKILL)
        self._data.pid_file(program.name).unlink(missing_ok=True)
        self._running.pop(program.name, None)
        return exit_code

    async def _stop(self, program: Program, process: asyncio.subprocess.Process) -> None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), timeout=self._stop_grace)
            logger.info("stopped %s", program.name)
        except TimeoutError:
            logger.warning(
                "%s ignored SIGTERM for %.0fs; killing it", program.name, self._stop_grace
            )
            _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


async def supervise(programs_file: Path, data: DataDirectory) -> None:
    """Run the supervisor for the programs in `programs_file` until SIGTERM or SIGINT."""
    supervisor = Supervisor(load_programs(programs_file), data)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, supervisor.request_stop)
    # A detached supervisor must not die with the terminal that started `make up`.
    loop.add_signal_handler(signal.SIGHUP, lambda: None)
    await supervisor.run()
