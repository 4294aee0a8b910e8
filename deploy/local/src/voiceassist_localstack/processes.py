"""Process bookkeeping by PID, shared by the servers, the supervisor and `make down`.

Everything the local runtime starts is tracked through PID files rather than through parent/child
handles, because `make up` returns while the processes keep running and `make down` runs later in
a different process that only has those files to go on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def read_pid_file(path: Path) -> int | None:
    """Return the PID written in `path` (first line), or None when absent or unreadable."""
    try:
        first_line = path.read_text().splitlines()[0].strip()
        return int(first_line)
    except (OSError, IndexError, ValueError):
        return None


def write_pid_file(path: Path, pid: int) -> None:
    """Write `pid` atomically, so a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(f"{pid}\n")
    scratch.replace(path)


def is_alive(pid: int) -> bool:
    """Whether `pid` is a live process; a zombie counts as gone since it will never serve again."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # Field 3 of /proc/<pid>/stat is the state; it follows the parenthesised command name.
        stat = Path(f"/proc/{pid}/stat").read_text()
        state = stat.rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in {"Z", "X"}


def command_line(pid: int) -> list[str]:
    """Return the argv of `pid` ([] when gone), to tell our process from a recycled PID."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def runs_program(pid: int, program_name: str) -> bool:
    """Whether `pid` is alive and its executable's base name is `program_name`."""
    if not is_alive(pid):
        return False
    argv = command_line(pid)
    return bool(argv) and Path(argv[0]).name == program_name


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait up to `timeout` seconds for `pid` to go away; True when it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_alive(pid):
            return True
        time.sleep(0.05)
    _reap(pid)
    return not is_alive(pid)


def terminate(pid: int, grace: float) -> bool:
    """SIGTERM `pid`, then SIGKILL it if it outlives `grace` seconds; True when it is gone."""
    if not is_alive(pid):
        return True
    _signal(pid, signal.SIGTERM)
    if wait_for_exit(pid, grace):
        return True
    _signal(pid, signal.SIGKILL)
    return wait_for_exit(pid, 5.0)


def terminate_group(pgid: int, grace: float) -> bool:
    """Like `terminate`, but for a whole process group (a service and anything it spawned)."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(pgid)
        if not group_alive(pgid):
            return True
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    return wait_for_exit(pgid, 5.0) and not group_alive(pgid)


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is still in process group `pgid`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command name: state, ppid, pgrp.
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in {"Z", "X"}:
            return True
    return False


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _reap(pid: int) -> None:
    """Collect `pid`'s exit status if it is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
