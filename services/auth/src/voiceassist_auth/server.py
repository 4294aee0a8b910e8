"""Process start of the auth service: ``serve`` (the default) or ``migrate``.

Serving opens the PostgreSQL pool confined to the ``auth`` schema, makes sure a signing key
exists (and rotates it when due, checked hourly), starts the built-in OIDC provider's HTTP app
on AUTH_HTTP_HOST:AUTH_HTTP_PORT next to the gRPC server, and dials NATS in the background for
the audit trail (records wait in memory while NATS is down) and for ``auth.guest.upgraded``
(an upgrade made while NATS is down answers UNAVAILABLE and is finished by calling again).
In Keycloak mode
(OIDC_BUILTIN_PROVIDER=false) there is no HTTP app and no key: the service only verifies
Keycloak's tokens. In development, AUTH_DEMO_ACCOUNTS_FILE seeds the demo accounts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import asyncpg
import grpc
import httpx
import uvicorn
from nats.js import JetStreamContext
from voiceassist_common.audit import AuditTrail, jetstream_publisher
from voiceassist_common.errors import Unavailable
from voiceassist_common.events import Event, EventPayload
from voiceassist_common.logging import configure_logging, safe
from voiceassist_common.messaging import (
    AUDIT,
    AUTH,
    NatsUnavailableError,
    connect,
    ensure_streams,
    publish,
)
from voiceassist_common.runtime import read_command, run_service
from voiceassist_common.settings import load_settings
from voiceassist_common.tokens import JwksCache, TokenVerifier

from voiceassist_auth.adapters.keys import SigningKeys
from voiceassist_auth.adapters.mail import MailSender, OutboxMailSender, SmtpMailSender
from voiceassist_auth.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_auth.adapters.store import AuthStore
from voiceassist_auth.config import MigrateSettings, Settings
from voiceassist_auth.handlers.grpc import register_auth_service
from voiceassist_auth.handlers.oidc import OIDC, create_app
from voiceassist_auth.provider import Lifetimes, Provider, default_clients, utc_now

logger = logging.getLogger(__name__)

MIGRATIONS: Path = SCRIPT_LOCATION
KEY_CHECK_SECONDS = 3600.0
EVENT_ACK_SECONDS = 5.0

__all__ = ["MIGRATIONS", "SCHEMA", "AuthProcess", "main", "migrate"]


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the auth service until SIGTERM, or apply its migrations with ``migrate``."""
    command = read_command(argv, prog="auth", migrates=True)
    if command == "migrate":
        migrate(load_settings(MigrateSettings))
        return
    settings = load_settings(Settings)
    process = AuthProcess(settings)
    run_service(
        settings, register=process.register, on_startup=process.start, on_shutdown=process.stop
    )


def migrate(settings: MigrateSettings) -> None:
    """Create the ``auth`` schema if it is missing and apply every pending migration."""
    configure_logging(settings.service_name, settings.log_level)
    # Imported here: only this command needs Alembic and SQLAlchemy.
    from voiceassist_common.db.migrations import upgrade

    upgrade(settings, schema=SCHEMA, script_location=MIGRATIONS)
    logger.info("schema %s is up to date", safe(SCHEMA))


def mail_sender(settings: Settings) -> MailSender:
    """SMTP when SMTP_HOST is set, else an in-memory outbox (development)."""
    if settings.smtp_host is None:
        return OutboxMailSender()
    return SmtpMailSender(
        settings.smtp_host,
        settings.smtp_port,
        sender=settings.mail_from,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
    )


def build_provider(
    settings: Settings, pool: asyncpg.Pool[asyncpg.Record], audit: AuditTrail
) -> tuple[Provider, SigningKeys]:
    """Return the provider over ``pool``; its token verifier reads the keys from the same table."""
    lifetimes = Lifetimes(
        access=timedelta(seconds=settings.access_token_seconds),
        refresh_idle=timedelta(seconds=settings.refresh_idle_seconds),
        session=timedelta(seconds=settings.session_max_seconds),
        guest=timedelta(seconds=settings.guest_session_seconds),
    )
    keys = SigningKeys(
        pool,
        rotation=timedelta(days=settings.signing_key_rotation_days),
        longest_token_lifetime=max(lifetimes.access, lifetimes.guest),
    )
    store = AuthStore(pool)
    provider_ref: list[Provider] = []

    async def local_jwks(request: httpx.Request) -> httpx.Response:
        # The verifier asks for the JWKS over HTTP; answer from the table, without a socket.
        return httpx.Response(200, json=await keys.jwks(provider_ref[0].clock()))

    jwks = JwksCache(
        jwks_uri=f"http://auth.internal{OIDC}/certs",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(local_jwks)),
    )
    verifier = TokenVerifier(settings.oidc_public_issuer, settings.oidc_audience, jwks)
    provider = Provider(
        store=store,
        keys=keys,
        verifier=verifier,
        mail=mail_sender(settings),
        audit=audit,
        issuer=settings.oidc_public_issuer,
        clients=default_clients(settings.client_secret, settings.web_redirect_uris),
        lifetimes=lifetimes,
    )
    provider_ref.append(provider)
    return provider, keys


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside the service's own event loop: the service, not uvicorn, owns SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install nothing: run_service's handlers stop the gRPC server and then this one."""
        yield


class AuthProcess:
    """What one serving process holds: the pool, the provider, its HTTP server, the NATS link."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self.audit = AuditTrail(None, source=settings.service_name)
        self.provider: Provider | None = None
        self._keycloak_verifier: TokenVerifier | None = None
        self._http: uvicorn.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._nats: object | None = None
        self._js: JetStreamContext | None = None
        self.http_port: int | None = None

    async def start(self) -> None:
        """Open the pool, ensure a signing key, start HTTP and the background NATS dial."""
        from voiceassist_common.db import create_pool

        settings = self._settings
        self._tasks.append(asyncio.create_task(self._dial_nats(), name="auth-nats-connect"))
        if not settings.oidc_builtin_provider:
            issuer = settings.issuer
            self._keycloak_verifier = TokenVerifier(
                issuer, settings.oidc_audience, JwksCache(issuer=issuer)
            )
            logger.info("Keycloak mode: verifying tokens of %s", safe(issuer))
            return
        self._pool = await create_pool(
            settings, schema=SCHEMA, application_name=settings.service_name
        )
        provider, keys = build_provider(settings, self._pool, self.audit)
        self.provider = provider
        await keys.rotate_if_due(provider.clock())
        if settings.auth_demo_accounts_file is not None:
            from voiceassist_auth.seed import seed_demo_accounts

            await seed_demo_accounts(provider, settings.auth_demo_accounts_file)
        self._tasks.append(asyncio.create_task(self._rotate_keys(keys), name="auth-key-rotation"))
        await self._start_http(provider)

    async def _start_http(self, provider: Provider) -> None:
        settings = self._settings
        config = uvicorn.Config(
            create_app(provider),
            host=settings.auth_http_host,
            port=settings.auth_http_port,
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            lifespan="off",
        )
        server = _EmbeddedServer(config)
        task = asyncio.create_task(server.serve(), name="auth-http")
        while not server.started:
            if task.done():
                raise RuntimeError(
                    f"cannot serve the OIDC provider on {settings.auth_http_host}:"
                    f"{settings.auth_http_port}; set AUTH_HTTP_HOST/AUTH_HTTP_PORT to a free "
                    "address"
                )
            await asyncio.sleep(0.05)
        self._http = server
        self._tasks.append(task)
        sockets = [s for srv in server.servers for s in srv.sockets]
        self.http_port = sockets[0].getsockname()[1] if sockets else settings.auth_http_port
        logger.info(
            "OIDC provider for %s serving HTTP on %s:%s",
            safe(provider.issuer),
            safe(settings.auth_http_host),
            self.http_port,
        )

    async def _rotate_keys(self, keys: SigningKeys) -> None:
        while True:
            await asyncio.sleep(KEY_CHECK_SECONDS)
            try:
                await keys.rotate_if_due(utc_now())
            except Exception as error:  # retried at the next check
                logger.warning("signing key rotation failed (%s)", safe(type(error).__name__))

    async def _dial_nats(self) -> None:
        settings = self._settings
        while True:
            try:
                client = await connect(settings.nats_url, name=settings.service_name)
            except NatsUnavailableError as error:
                logger.warning("%s; audit records wait in memory", safe(str(error)))
                continue
            self._nats = client
            js = client.jetstream()
            # The stream may be declared by `make up` or the admin service; publishing will tell.
            with contextlib.suppress(Exception):
                await ensure_streams(js, (AUDIT, AUTH))
            self._js = js
            self.audit.attach(jetstream_publisher(js, source=settings.service_name))
            return

    async def publish_event(self, event: Event[EventPayload]) -> None:
        """Store ``event`` in JetStream; Unavailable while NATS is not connected yet."""
        if self._js is None:
            raise Unavailable("NATS is not connected yet")
        await publish(self._js, event, ack_wait_seconds=EVENT_ACK_SECONDS)

    def register(self, server: grpc.aio.Server) -> Sequence[str]:
        """Add AuthService over what `start` opened."""
        return register_auth_service(
            server,
            provider=self.provider,
            keycloak_verifier=self._keycloak_verifier,
            publish=self.publish_event,
            source=self._settings.service_name,
        )

    async def stop(self) -> None:
        """Stop HTTP, flush the audit trail, close NATS and the pool."""
        if self._http is not None:
            self._http.should_exit = True
        for task in reversed(self._tasks):
            if task.get_name() == "auth-http":
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, timeout=5)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.provider is not None:
            # A reset or invitation mail still being sent is finished, not dropped.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.provider.settle(), timeout=10)
        await self.audit.close()
        self._js = None
        close = getattr(self._nats, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
        if self._pool is not None:
            await self._pool.close()
