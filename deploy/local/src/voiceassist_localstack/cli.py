"""`voiceassist-local up|down|status`: the commands behind `make up`, `make down`, `make status`.

Run from the repository root (the Makefile does); `.env` there and the environment configure
ports and the data directory, see config.py.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from voiceassist_localstack.account import AccountError
from voiceassist_localstack.config import load_local_settings
from voiceassist_localstack.layout import DataDirectory
from voiceassist_localstack.nats import NatsError
from voiceassist_localstack.postgres import PostgresError
from voiceassist_localstack.stack import LocalStack, StackError

# Exit status of `status` when something is not running (as `systemctl status` does).
NOT_RUNNING = 3


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; returns the process exit status."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "supervise":
        return _supervise(Path(arguments.data_dir))
    # This tool talks to its user through print(); library warnings (a NATS client closing, say)
    # would only be noise on the terminal. The supervisor configures JSON logging itself.
    logging.basicConfig(level=logging.ERROR)
    root = Path(arguments.root).absolute()
    stack = LocalStack(load_local_settings(root), root, report=_say)
    try:
        if arguments.command == "up":
            stack.up()
            return 0
        if arguments.command == "down":
            return _down(stack)
        return _status(stack)
    except (StackError, PostgresError, NatsError, AccountError) as error:
        _say(f"error: {error}")
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voiceassist-local",
        description="Run the whole VoiceAssist platform on this machine, without Docker.",
    )
    parser.add_argument(
        "--root", default=".", help="repository root holding .env and .data/ (default: .)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start PostgreSQL, NATS and every service; wait until healthy")
    commands.add_parser("down", help="stop everything `up` started")
    commands.add_parser("status", help="show what is running")
    supervise = commands.add_parser("supervise", help="(internal) the supervisor process")
    supervise.add_argument("--data-dir", required=True)
    return parser


def _down(stack: LocalStack) -> int:
    leftovers = stack.down()
    if leftovers:
        _say(f"error: still running after down: {', '.join(leftovers)}")
        return 1
    _say("everything is stopped")
    return 0


def _status(stack: LocalStack) -> int:
    states = stack.states()
    readiness = stack.readiness() if stack.supervisor_pid() is not None else None
    _say(f"{'NAME':<12} {'PID':>8}  {'STATE':<8} {'HEALTH':<12} ENDPOINT")
    for state in states:
        running = "running" if state.pid is not None else "stopped"
        health = ""
        if readiness is not None and state.pid is not None:
            health = readiness.services.get(state.name, "")
            if state.name == "gateway":
                health = f"HTTP {readiness.http_status}" if readiness.reachable else "no answer"
        pid = str(state.pid) if state.pid is not None else "-"
        _say(f"{state.name:<12} {pid:>8}  {running:<8} {health:<12} {state.endpoint}")
    return 0 if all(state.pid is not None for state in states) else NOT_RUNNING


def _supervise(data_dir: Path) -> int:
    from voiceassist_common.logging import configure_logging

    from voiceassist_localstack.supervisor import supervise

    configure_logging("supervisor")
    data = DataDirectory(data_dir)
    asyncio.run(supervise(data.programs_file, data))
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
