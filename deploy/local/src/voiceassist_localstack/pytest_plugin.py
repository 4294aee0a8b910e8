"""Pytest fixtures that give integration tests a real PostgreSQL and a real NATS with JetStream.

Registered from the repository's root conftest.py. The servers start lazily, once per test
session, in a throwaway directory on free ports (never the `make up` ones), and are stopped at the
end of the session even when tests fail. Tests that use them are marked `integration`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from voiceassist_localstack.nats import NatsServer
from voiceassist_localstack.ports import free_port
from voiceassist_localstack.postgres import EmbeddedPostgres
from voiceassist_localstack.testing import Platform, running_platform


@pytest.fixture(scope="session")
def localstack_dir() -> Iterator[Path]:
    """Provide a session-wide scratch directory for the servers' data, removed at the end."""
    # Not pytest's tmp_path: that lives under a root-only directory the unprivileged PostgreSQL
    # account cannot traverse, and its long path would not fit a unix socket.
    path = Path(tempfile.mkdtemp(prefix="va-test-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(localstack_dir: Path) -> Iterator[EmbeddedPostgres]:
    """Start PostgreSQL 18 with pgvector, app role `voiceassist`, database `voiceassist`."""
    server = EmbeddedPostgres(localstack_dir / "postgres", port=free_port(), durable=False)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server: EmbeddedPostgres) -> str:
    """DSN of the session database, `postgresql://voiceassist:…@127.0.0.1:<port>/voiceassist`."""
    return postgres_server.dsn


@pytest.fixture
def fresh_postgres_dsn(postgres_server: EmbeddedPostgres) -> Iterator[str]:
    """DSN of a brand-new database for one test (migrations from scratch), dropped afterwards."""
    name = f"test_{secrets.token_hex(6)}"
    dsn = postgres_server.create_database(name)
    try:
        yield dsn
    finally:
        postgres_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);', "postgres")


@pytest.fixture(scope="session")
def nats_server(localstack_dir: Path) -> Iterator[NatsServer]:
    """Start nats-server with JetStream enabled."""
    server = NatsServer(
        localstack_dir / "nats",
        port=free_port(),
        monitor_port=free_port(),
        server_name=f"voiceassist-test-{os.getpid()}",
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer) -> str:
    """Client URL of the session NATS server, `nats://127.0.0.1:<port>`."""
    return nats_server.url


@pytest.fixture(scope="session")
def shared_platform() -> Iterator[Platform]:
    """Start ONE whole platform for every stack test that leaves it running as it found it.

    Starting the nine services costs ~40 s and stopping them ~10 s; the conversation, guest,
    security and browser tests share this one (they each make their own guests, accounts and
    appointments), while the platform tests, which kill services and run down/up, start their
    own. Started on first use, stopped at the end of the session; its mail is caught
    (`platform.mail`), so tests can follow invitation and e-mail links.
    """
    with running_platform(catch_mail=True) as started:
        yield started
