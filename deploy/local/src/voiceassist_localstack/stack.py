"""`up`, `down` and `status` of the whole local platform, as separate short-lived commands.

`up` starts PostgreSQL and NATS (reusing `.data/`), applies migrations, declares the JetStream
streams, then hands the services to a detached supervisor and waits on the gateway's /readyz.
`down` stops all of it by PID, then checks that nothing it started is left.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from voiceassist_localstack.config import LocalSettings
from voiceassist_localstack.layout import DataDirectory
from voiceassist_localstack.nats import NatsServer
from voiceassist_localstack.ports import is_listening
from voiceassist_localstack.postgres import EmbeddedPostgres
from voiceassist_localstack.processes import (
    command_line,
    group_alive,
    is_alive,
    read_pid_file,
    terminate,
    terminate_group,
)
from voiceassist_localstack.readiness import Readiness, check_readiness
from voiceassist_localstack.services import (
    DOWNSTREAM,
    GATEWAY,
    SERVICES,
    PlatformPorts,
    ServiceSpec,
    service_environment,
)
from voiceassist_localstack.supervisor import Program, save_programs

Report = Callable[[str], None]
SUPERVISOR_STOP_TIMEOUT = 30.0
# How long one migration may take before `up` gives up on it.
MIGRATION_TIMEOUT = 300.0


class StackError(RuntimeError):
    """`up` or `down` could not do its job; the message says what to look at."""


@dataclass(frozen=True)
class ProcessState:
    """What `status` shows for one process."""

    name: str
    pid: int | None
    endpoint: str


class LocalStack:
    """The platform on this machine: servers and services under one data directory."""

    def __init__(self, settings: LocalSettings, root: Path, report: Report = print) -> None:
        self.settings = settings
        self.root = root
        self.data = DataDirectory(settings.data_dir(root))
        self.ports = PlatformPorts(settings)
        self.postgres = EmbeddedPostgres(
            self.data.postgres,
            port=settings.local_pg_port,
            host=settings.local_bind_host,
            password=settings.local_pg_password.get_secret_value(),
            log_file=self.data.log_file("postgres"),
        )
        self.nats = NatsServer(
            self.data.nats,
            port=settings.local_nats_port,
            monitor_port=settings.local_nats_monitor_port,
            host=settings.local_bind_host,
            log_file=self.data.log_file("nats"),
        )
        self._report = report

    @property
    def gateway_url(self) -> str:
        """Base URL of the gateway's public HTTP port."""
        return f"http://{self.settings.local_bind_host}:{self.settings.gateway_http_port}"

    @property
    def readyz_url(self) -> str:
        """The gateway's readiness endpoint."""
        return f"{self.gateway_url}/readyz"

    def supervisor_pid(self) -> int | None:
        """PID of our running supervisor, or None."""
        pid = read_pid_file(self.data.supervisor_pid_file)
        if pid is None or not is_alive(pid):
            return None
        return pid if "supervise" in command_line(pid) else None

    def service_pid(self, spec: ServiceSpec) -> int | None:
        """PID of the running process of `spec` (per its PID file), or None."""
        pid = read_pid_file(self.data.pid_file(spec.name))
        if pid is None or not is_alive(pid):
            return None
        return pid if spec.module in command_line(pid) else None

    def up(self) -> None:
        """Start whatever is not running yet and wait until every service is healthy."""
        self.data.create()
        if self.supervisor_pid() is None:
            self._stop_orphaned_services()
            self._check_ports_free()
        self._report(f"PostgreSQL 18 on {self.settings.local_bind_host}:{self.postgres.port} …")
        self.postgres.start()
        self._report(f"NATS with JetStream on {self.nats.url} …")
        self.nats.start()
        if self.supervisor_pid() is None:
            self._migrate()
            self._ensure_streams()
            self._start_supervisor()
        else:
            self._report(f"services already supervised (pid {self.supervisor_pid()}); reusing them")
        self._wait_until_ready()
        self._print_urls()

    def down(self) -> list[str]:
        """Stop everything by PID; return what is still alive afterwards (empty means clean)."""
        started: list[tuple[str, int]] = []
        supervisor = self.supervisor_pid()
        if supervisor is not None:
            self._report(f"stopping services (supervisor pid {supervisor}) …")
            started.append(("supervisor", supervisor))
            # The supervisor stops its children gracefully; force it only if it hangs.
            if not terminate(supervisor, grace=SUPERVISOR_STOP_TIMEOUT):
                self._report("supervisor did not stop in time; killed it")
        started += self._stop_orphaned_services()
        for name, server in (("NATS", self.nats), ("PostgreSQL", self.postgres)):
            pid = server.pid
            if pid is not None:
                self._report(f"stopping {name} (pid {pid}) …")
                started.append((name, pid))
                server.stop()
        leftovers = [f"{name} (pid {pid})" for name, pid in started if is_alive(pid)]
        leftovers += [f"{name} process group {pid}" for name, pid in started if group_alive(pid)]
        return sorted(set(leftovers))

    def states(self) -> list[ProcessState]:
        """Return what runs now, for `status`."""
        host = self.settings.local_bind_host
        states = [
            ProcessState("postgres", self.postgres.pid, f"{host}:{self.postgres.port}"),
            ProcessState("nats", self.nats.pid, self.nats.url),
            ProcessState("supervisor", self.supervisor_pid(), str(self.data.run)),
        ]
        for spec in SERVICES:
            grpc_port = self.ports.grpc_port(spec)
            endpoint = self.gateway_url if grpc_port is None else f"{host}:{grpc_port}"
            states.append(ProcessState(spec.name, self.service_pid(spec), endpoint))
        return states

    def readiness(self) -> Readiness:
        """Ask the gateway once how every service is doing."""
        return check_readiness(self.readyz_url)

    def _stop_orphaned_services(self) -> list[tuple[str, int]]:
        """Stop services whose supervisor died without stopping them (e.g. it was SIGKILLed)."""
        stopped = []
        for spec in SERVICES:
            pid = self.service_pid(spec)
            if pid is not None:
                self._report(f"stopping leftover {spec.name} (pid {pid}) …")
                terminate_group(pid, grace=10.0)
                stopped.append((spec.name, pid))
            self.data.pid_file(spec.name).unlink(missing_ok=True)
        return stopped

    def _check_ports_free(self) -> None:
        ours = {"PostgreSQL": self.postgres.is_running(), "NATS": self.nats.is_running()}
        ours["NATS monitoring"] = ours["NATS"]
        host = self.settings.local_bind_host
        taken = [
            f"{purpose} port {port}"
            for purpose, port in self.ports.all_ports().items()
            if not ours.get(purpose, False) and is_listening(host, port)
        ]
        if taken:
            raise StackError(
                "already in use by another program on "
                f"{host}: {', '.join(taken)}. Stop it, or choose other ports in .env "
                "(LOCAL_PG_PORT, LOCAL_NATS_PORT, LOCAL_NATS_MONITOR_PORT, GATEWAY_HTTP_PORT, "
                "LOCAL_GRPC_PORT_BASE, LOCAL_METRICS_PORT_BASE)"
            )

    def _environment(self, spec: ServiceSpec) -> dict[str, str]:
        # `.env` may also carry service settings (e.g. OTEL_EXPORTER_OTLP_ENDPOINT); the
        # runtime's own wiring (ports, URLs) wins over them.
        from_file = {
            key: value
            for key, value in dotenv_values(self.root / ".env").items()
            if value is not None
        }
        wiring = service_environment(
            spec, self.settings, database_url=self.postgres.dsn, nats_url=self.nats.url
        )
        if spec.name == "auth":
            # The auth service seeds the demo accounts at start and keeps their secrets here.
            wiring["AUTH_DEMO_ACCOUNTS_FILE"] = str(self.demo_accounts_file)
        if spec.name == "stt":
            # The Whisper base halves are assembled here once, then checked at every start.
            wiring["STT_MODEL_CACHE_DIR"] = str(self.data.root / "stt" / "models")
        if spec.name == "tts":
            # Fixed prompts synthesised ahead of time survive restarts here.
            wiring["TTS_CACHE_DIR"] = str(self.data.root / "tts-cache")
        if spec.name == "scheduling":
            # The demo clinic: 24 practitioners in six cities, seeded (idempotently) at start.
            wiring["SCHEDULING_SEED_DEMO"] = "true"
        return from_file | wiring

    @property
    def demo_accounts_file(self) -> Path:
        """Where the auth service keeps the demo accounts' secrets (mode 0600, dev only)."""
        return self.data.root / "demo-accounts.txt"

    def _migrate(self) -> None:
        for spec in SERVICES:
            if not spec.owns_tables:
                continue
            self._report(f"migrating {spec.name} …")
            log_path = self.data.log_file(f"{spec.name}-migrate")
            with log_path.open("ab") as log:
                result = subprocess.run(  # noqa: S603 - our interpreter and our module
                    [sys.executable, "-m", spec.module, "migrate"],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    env=self._child_environment(spec),
                    cwd=self.root,
                    timeout=MIGRATION_TIMEOUT,
                    check=False,
                )
            if result.returncode != 0:
                raise StackError(
                    f"migrations of {spec.name} failed (exit {result.returncode}); "
                    f"{log_path}:\n{_tail(log_path)}"
                )

    def _ensure_streams(self) -> None:
        from voiceassist_localstack.streams import declare_streams

        self._report("declaring JetStream streams …")
        names = asyncio.run(declare_streams(self.nats.url))
        self._report(f"streams ready: {', '.join(names)}")

    def _start_supervisor(self) -> None:
        programs = [
            Program(
                name=spec.name,
                argv=[sys.executable, "-m", spec.module],
                environment=self._environment(spec),
                cwd=str(self.root),
            )
            for spec in SERVICES
        ]
        save_programs(self.data.programs_file, programs)
        log_path = self.data.log_file("supervisor")
        self._report(f"starting {len(programs)} services under a supervisor …")
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our interpreter and our module
                [
                    sys.executable,
                    "-m",
                    "voiceassist_localstack",
                    "supervise",
                    "--data-dir",
                    str(self.data.root),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.root,
                # A session of its own: it outlives the `make up` shell that started it.
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while self.supervisor_pid() != process.pid:
            if process.poll() is not None or time.monotonic() > deadline:
                raise StackError(f"the supervisor did not start; {log_path}:\n{_tail(log_path)}")
            time.sleep(0.1)

    def _child_environment(self, spec: ServiceSpec) -> dict[str, str]:
        return {**os.environ, **self._environment(spec)}

    def _wait_until_ready(self) -> None:
        # The gateway lists itself too: nine names, all of which must say SERVING.
        expected = [spec.name for spec in SERVICES]
        deadline = time.monotonic() + self.settings.local_ready_timeout
        last_line = ""
        last_print = 0.0
        readiness = Readiness(None)
        while time.monotonic() < deadline:
            if self.supervisor_pid() is None:
                log_path = self.data.log_file("supervisor")
                raise StackError(f"the supervisor exited; {log_path}:\n{_tail(log_path)}")
            readiness = self.readiness()
            if readiness.is_ready(expected):
                self._report(f"all {len(SERVICES)} services are healthy")
                return
            line = self._progress_line(readiness, expected)
            if line != last_line or time.monotonic() - last_print > 15:
                self._report(line)
                last_line, last_print = line, time.monotonic()
            time.sleep(1.0)
        raise StackError(
            f"{self._not_ready_report(readiness, expected)}\n"
            "Everything started is left running for inspection; `make down` stops it."
        )

    def _progress_line(self, readiness: Readiness, expected: list[str]) -> str:
        if not readiness.reachable:
            return f"waiting for the gateway at {self.readyz_url} …"
        waiting = readiness.not_serving(expected)
        healthy = len(expected) - len(waiting)
        return f"{healthy}/{len(expected)} services healthy; waiting for {', '.join(waiting)} …"

    def _not_ready_report(self, readiness: Readiness, expected: list[str]) -> str:
        if readiness.reachable:
            unhealthy = readiness.not_serving(expected)
        else:
            unhealthy = [GATEWAY.name] + [
                spec.name for spec in DOWNSTREAM if self.service_pid(spec) is None
            ]
        lines = [
            f"not every service became healthy within {self.settings.local_ready_timeout:.0f}s "
            f"(see {self.readyz_url}):"
        ]
        for name in unhealthy:
            status = readiness.services.get(name, readiness.error or "no answer")
            if name in readiness.reasons:
                status = f"{status} ({readiness.reasons[name]})"
            log_path = self.data.log_file(name)
            lines += [f"--- {name}: {status}; last lines of {log_path}:", _tail(log_path)]
        return "\n".join(lines)

    def _print_urls(self) -> None:
        host = self.settings.local_bind_host
        metrics = ", ".join(f"{spec.name} :{self.ports.metrics_port(spec)}" for spec in SERVICES)
        self._report(
            "\n".join(
                [
                    "",
                    "VoiceAssist is up:",
                    f"  web app      {self.gateway_url}/  (patients, clinicians, admins)",
                    f"  gateway      {self.gateway_url}",
                    f"  API docs     {self.gateway_url}/docs",
                    f"  readiness    {self.readyz_url}",
                    f"  metrics      http://{host}:<port>/metrics — {metrics}",
                    f"  PostgreSQL   {self.postgres.dsn}",
                    f"  NATS         {self.nats.url} (monitoring {self.nats.monitor_url})",
                    f"  logs         {self.data.logs}/",
                    *self._demo_accounts(),
                    "Stop everything with: make down",
                ]
            )
        )

    def _demo_accounts(self) -> list[str]:
        return demo_account_lines(self.demo_accounts_file, self.gateway_url)


def demo_account_lines(accounts_file: Path, gateway_url: str) -> list[str]:
    """Say how to sign in as the demo accounts; the TOTP secrets only the first time.

    A second factor shown on every start would be a second factor in every terminal log; after
    the first start it stays in the 0600 accounts file only.
    """
    try:
        accounts = [line for line in accounts_file.read_text().splitlines() if line.strip()]
    except OSError:
        return []
    shown = accounts_file.with_name(accounts_file.name + ".shown")
    first_time = not shown.exists()
    if not first_time:
        accounts = [
            re.sub(r"totp secret: \S+", "totp secret: (shown at first start)", line)
            for line in accounts
        ]
    shown.touch(mode=0o600, exist_ok=True)
    return [
        f"Demo accounts (sign in at {gateway_url}/ ; kept in {accounts_file}):",
        *(f"  {line}" for line in accounts),
        *(
            ["  TOTP secrets are shown this once: add them to an authenticator app now."]
            if first_time and any("totp secret:" in line for line in accounts)
            else []
        ),
    ]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log yet)"
