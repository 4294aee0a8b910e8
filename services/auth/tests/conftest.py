"""Fixtures: the real provider and its HTTP app.

The real provider over a real PostgreSQL (the auth migrations applied), its HTTP app on a loopback
port, mail kept in an outbox (or sent to a real SMTP server, aiosmtpd on a loopback port, with
`smtp_inbox`) and audit records kept in a list.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.message
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from voiceassist_auth.adapters.mail import OutboxMailSender, SmtpMailSender
from voiceassist_auth.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_auth.config import Settings
from voiceassist_auth.handlers.oidc import create_app
from voiceassist_auth.provider import Provider
from voiceassist_auth.server import build_provider
from voiceassist_common.audit import AuditTrail
from voiceassist_common.db import create_pool, upgrade
from voiceassist_common.events import AuditRecordAppended, EventPayload
from voiceassist_common.settings import DatabaseSettings
from voiceassist_common.testing import free_port
from voiceassist_localstack.postgres import EmbeddedPostgres

TABLES = (
    "signing_keys, sign_in_flows, refresh_tokens, authorization_codes, sessions, "
    "sign_in_attempts, action_tokens, recovery_codes, users"
)
CLIENT_SECRET = "test-client-secret-0123456789"


@pytest.fixture(scope="session")
def migrated_dsn(postgres_server: EmbeddedPostgres) -> Iterator[str]:
    """Return a database with the auth migrations applied, for the whole session."""
    name = f"test_auth_{secrets.token_hex(6)}"
    dsn = postgres_server.create_database(name)
    with ThreadPoolExecutor(max_workers=1) as thread:
        settings = DatabaseSettings(database_url=dsn)
        thread.submit(upgrade, settings, schema=SCHEMA, script_location=SCRIPT_LOCATION).result()
    try:
        yield dsn
    finally:
        postgres_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);', "postgres")


@pytest.fixture
async def pool(migrated_dsn: str) -> AsyncIterator[asyncpg.Pool[asyncpg.Record]]:
    settings = DatabaseSettings(database_url=migrated_dsn, db_pool_min_size=1, db_pool_max_size=4)
    pool = await create_pool(settings, schema=SCHEMA, application_name="auth-test")
    await pool.execute(f"TRUNCATE {TABLES} CASCADE")
    try:
        yield pool
    finally:
        await pool.close()


@dataclass
class AuditLog:
    """A publisher that keeps the audit records it is given."""

    records: list[AuditRecordAppended] = field(default_factory=list)

    async def __call__(self, payload: EventPayload) -> None:
        assert isinstance(payload, AuditRecordAppended)
        self.records.append(payload)

    def actions(self) -> list[str]:
        return [record.action for record in self.records]


@dataclass
class Running:
    """The provider and what stands around it."""

    provider: Provider
    issuer: str
    base_url: str
    outbox: OutboxMailSender
    audit: AuditLog


def test_settings(port: int, **overrides: object) -> Settings:
    return Settings.model_validate(
        {
            "database_url": "postgresql://voiceassist:voiceassist@127.0.0.1:1/voiceassist",
            "oidc_public_issuer": f"http://127.0.0.1:{port}/realms/voiceassist",
            "oidc_client_secret": CLIENT_SECRET,
            "oidc_web_redirect_uris": "http://127.0.0.1:8080/auth/callback",
            **overrides,
        }
    )


@pytest.fixture
async def running(pool: asyncpg.Pool[asyncpg.Record]) -> AsyncIterator[Running]:
    """Return the provider's HTTP app served on a free loopback port."""
    port = free_port()
    settings = test_settings(port)
    log = AuditLog()
    provider, keys = build_provider(settings, pool, AuditTrail(log, source="auth"))
    outbox = OutboxMailSender()
    provider.mail = outbox
    await keys.rotate_if_due(provider.clock())
    config = uvicorn.Config(
        create_app(provider), host="127.0.0.1", port=port, log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the test HTTP server did not start"
        await asyncio.sleep(0.02)
    try:
        yield Running(
            provider, settings.oidc_public_issuer, f"http://127.0.0.1:{port}", outbox, log
        )
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=5)


ACCESS = timedelta(minutes=5)


class Inbox(Message):
    """What a real SMTP server (aiosmtpd, in its own thread) received."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[email.message.Message] = []

    def handle_message(self, message: email.message.Message) -> None:
        self.messages.append(message)

    def to(self, address: str) -> list[email.message.Message]:
        """Return the messages received for ``address``."""
        return [message for message in self.messages if message["To"] == address]

    async def link_for(self, address: str, page: str) -> str:
        """Wait for a mail to ``address`` with a link to ``page``; return the latest such link."""
        pattern = re.compile(rf"https?://\S+/login-actions/{page}\?token=\S+")
        for _ in range(200):
            found = [
                match[0] for message in self.to(address) if (match := pattern.search(body(message)))
            ]
            if found:
                return found[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail with a {page} link reached {address}")


def body(message: email.message.Message) -> str:
    """Return the text of a plain-text mail."""
    payload = message.get_payload(decode=True)
    return payload.decode() if isinstance(payload, bytes) else str(message.get_payload())


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Inbox]]:
    """Return a real SMTP server on a loopback port, and what it receives."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_inbox(running: Running, smtp: tuple[Controller, Inbox]) -> Inbox:
    """Make the running provider send its mail through the real SMTP server; return its inbox."""
    controller, inbox = smtp
    running.provider.mail = SmtpMailSender(
        "127.0.0.1", controller.port, sender="VoiceAssist <no-reply@voiceassist.test>"
    )
    return inbox


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """Return an HTTP client that, like a test's eye, stops at every redirect."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as client:
        yield client
