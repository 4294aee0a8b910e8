"""Where the local runtime keeps its state under the data directory (`.data/` for `make up`).

One place for these paths, because `up`, the supervisor, `status` and `down` run as separate
processes at different times and find each other only through these files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDirectory:
    """The runtime's folders: server data, one log per process, one PID file per process."""

    root: Path

    @property
    def postgres(self) -> Path:
        """PostgreSQL's data directory (PGDATA)."""
        return self.root / "postgres"

    @property
    def nats(self) -> Path:
        """NATS state: JetStream store and PID file."""
        return self.root / "nats"

    @property
    def logs(self) -> Path:
        """One `<name>.log` per server, service and the supervisor."""
        return self.root / "logs"

    @property
    def run(self) -> Path:
        """PID files and the supervisor's list of programs."""
        return self.root / "run"

    @property
    def programs_file(self) -> Path:
        """What the supervisor runs, written by `up` before it starts the supervisor."""
        return self.run / "programs.json"

    @property
    def supervisor_pid_file(self) -> Path:
        """The supervisor's own PID file."""
        return self.pid_file("supervisor")

    def pid_file(self, name: str) -> Path:
        """PID file of the process called `name`."""
        return self.run / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        """Log file of the process called `name`."""
        return self.logs / f"{name}.log"

    def create(self) -> None:
        """Create the folders (idempotent); everyone may traverse them, see account.py."""
        for folder in (self.root, self.logs, self.run):
            folder.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
