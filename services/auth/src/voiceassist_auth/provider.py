"""The built-in identity provider: what happens when someone signs in, refreshes or signs out.

The HTTP endpoints (handlers/oidc.py) and the gRPC service (handlers/grpc.py) are thin; the
decisions live here, over the store (adapters/store.py), the signing keys (adapters/keys.py),
the mail sender and the audit trail:

- a password is checked only while the account is not locked and the client address is not
  throttled; five failures in fifteen minutes lock the account for fifteen minutes;
- clinicians and admins finish signing in only after a TOTP code or a recovery code, and a
  TOTP code signs in once: its time step, and every earlier one, is spent (RFC 6238 §5.2);
- anyone may create a patient account (and only that) with a verified-later e-mail address;
  an address that is taken is said to be taken, but each such try counts against the caller's
  address like a failed sign-in, so the form cannot list the platform's users quickly;
- a password reset mail goes only to an existing, enabled account, at most three in fifteen
  minutes, and whoever asks is told the same thing either way;
- the token endpoint serves each client from each address a burst of requests and then a
  steady rate (429 with Retry-After beyond it);
- an authorization code is single use, bound to its client, redirect URI and PKCE challenge
  (S256; public clients must use it); replaying a code ends the session it opened;
- a refresh token is single use: each refresh hands out a new one, and presenting a used one
  ends the whole sign-in session (``sid``) and leaves an ``auth.refresh_reuse`` audit record;
- access tokens of an ended session stop verifying at once (VerifyToken, userinfo), not only
  when they expire.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from voiceassist_common.audit import AuditTrail
from voiceassist_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from voiceassist_common.events import ActorKind, AuditOutcome
from voiceassist_common.tokens import Principal, Role, TokenRejected, TokenVerifier

from voiceassist_auth.adapters.keys import SigningKeys
from voiceassist_auth.adapters.mail import Mail, MailSender
from voiceassist_auth.adapters.store import AuthStore, SessionRecord
from voiceassist_auth.domain import credentials
from voiceassist_auth.domain.accounts import (
    LANGUAGES,
    SignInPolicy,
    User,
    looks_like_email,
    normalise_email,
)
from voiceassist_auth.domain.claims import (
    GUEST_SCOPE,
    Grant,
    access_token_claims,
    id_token_claims,
    userinfo_claims,
)
from voiceassist_auth.domain.rate_limits import RateLimit, TokenBuckets

__all__ = [
    "CLI_CLIENT",
    "Client",
    "OAuthError",
    "Provider",
    "SignInRefused",
    "default_clients",
]

logger = logging.getLogger(__name__)

CLI_CLIENT = "voiceassist-cli"
WEB_CLIENT = "voiceassist-web"
ADMIN_CLIENT = "voiceassist-admin"
CODE_LIFETIME = timedelta(seconds=60)
VERIFY_EMAIL_LIFETIME = timedelta(hours=24)
RESET_LIFETIME = timedelta(hours=1)
RESET_MAILS_PER_WINDOW = 3
RESET_MAIL_WINDOW = timedelta(minutes=15)
INVITE_LIFETIME = timedelta(days=7)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the current time, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Client:
    """An OAuth client of the realm."""

    id: str
    secret: str | None
    redirect_uris: tuple[str, ...] = ()
    loopback_callback: bool = False
    self_registration: bool = True
    """Whether its sign-in page offers patients to create an account (not the admin panel)."""

    @property
    def public(self) -> bool:
        """A public client (no secret) must prove the code is its own with PKCE."""
        return self.secret is None

    def allows_redirect(self, uri: str) -> bool:
        """Whether the client registered ``uri`` (exact match.

        Loopback on any port for the CLI, as RFC 8252 §7.3 asks of native apps).
        """
        if uri in self.redirect_uris:
            return True
        if not self.loopback_callback:
            return False
        parts = urlsplit(uri)
        return (
            parts.scheme == "http"
            and parts.hostname in {"127.0.0.1", "localhost"}
            and parts.path == "/callback"
            and not parts.fragment
            and not parts.username
        )

    def allows_post_logout(self, uri: str) -> bool:
        """Whether ``uri`` may receive the browser after logout.

        A registered redirect URI or the origin of one.
        """
        if self.allows_redirect(uri):
            return True
        origins = {f"{urlsplit(r).scheme}://{urlsplit(r).netloc}" for r in self.redirect_uris}
        return uri.rstrip("/") in origins

    def authenticates(self, secret: str | None) -> bool:
        """Whether ``secret`` proves the caller is this client (public clients prove nothing)."""
        if self.secret is None:
            return True
        return secret is not None and hmac.compare_digest(secret.encode(), self.secret.encode())


def default_clients(secret: str, web_redirect_uris: tuple[str, ...]) -> dict[str, Client]:
    """Return the realm's three clients (issue #4): the web BFF, the admin panel and the CLI."""
    return {
        WEB_CLIENT: Client(WEB_CLIENT, secret, web_redirect_uris),
        ADMIN_CLIENT: Client(ADMIN_CLIENT, secret, web_redirect_uris, self_registration=False),
        CLI_CLIENT: Client(CLI_CLIENT, None, loopback_callback=True),
    }


class OAuthError(Exception):
    """An OAuth error answer (RFC 6749 §5.2): ``error`` code, description, HTTP status."""

    def __init__(
        self, error: str, description: str, status: int = 400, *, retry_after: int | None = None
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.retry_after = retry_after


class SignInRefused(Exception):  # noqa: N818 - reads as the outcome at call sites
    """A sign-in step that did not pass; ``message`` is safe to show on the page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Lifetimes:
    """How long each thing the provider hands out stays valid."""

    access: timedelta = timedelta(minutes=5)
    refresh_idle: timedelta = timedelta(minutes=30)
    session: timedelta = timedelta(hours=10)
    guest: timedelta = timedelta(hours=1)


class Provider:
    """The built-in provider's decisions (see the module docstring)."""

    def __init__(
        self,
        *,
        store: AuthStore,
        keys: SigningKeys,
        verifier: TokenVerifier,
        mail: MailSender,
        audit: AuditTrail,
        issuer: str,
        clients: dict[str, Client],
        lifetimes: Lifetimes | None = None,
        policy: SignInPolicy | None = None,
        token_rate: RateLimit | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.keys = keys
        self.verifier = verifier
        self.mail = mail
        self.audit = audit
        self.issuer = issuer
        self.clients = clients
        self.lifetimes = lifetimes or Lifetimes()
        self.policy = policy or SignInPolicy()
        self.clock = clock
        self.token_requests = TokenBuckets(token_rate or RateLimit())
        self._background: set[asyncio.Task[None]] = set()

    # Accounts -------------------------------------------------------------------------------------

    async def create_user(
        self,
        *,
        email: str,
        display_name: str,
        roles: frozenset[Role],
        password: str | None = None,
        language: str = "en",
        practitioner_id: str = "",
        email_verified: bool = False,
    ) -> User:
        """Add a user after checking every field; InvalidArgument names the first bad one."""
        email = normalise_email(email)
        if not looks_like_email(email):
            raise InvalidArgument("email: not an e-mail address")
        if not display_name.strip() or len(display_name) > 200:
            raise InvalidArgument("display_name: required, at most 200 characters")
        if language not in LANGUAGES:
            raise InvalidArgument("language: must be en or fr")
        if Role.CLINICIAN not in roles and practitioner_id:
            raise InvalidArgument("practitioner_id: only clinicians are practitioners")
        password_hash = None
        if password is not None:
            problem = credentials.password_problem(password, personal=(email, display_name))
            if problem:
                raise InvalidArgument(f"password: {problem}")
            password_hash = credentials.hash_password(password)
        return await self.store.create_user(
            email=email,
            display_name=display_name.strip(),
            roles=frozenset(role.value for role in roles),
            language=language,
            practitioner_id=practitioner_id,
            password_hash=password_hash,
            email_verified=email_verified,
            now=self.clock(),
        )

    async def user(self, user_id: str | UUID) -> User:
        """Return the user with this id; InvalidArgument for a malformed id, NotFound for none."""
        try:
            uid = user_id if isinstance(user_id, UUID) else UUID(user_id)
        except ValueError:
            raise InvalidArgument("user_id: not a UUID") from None
        user = await self.store.user_by_id(uid)
        if user is None:
            raise NotFound("no user with this id")
        return user

    async def invite(
        self,
        *,
        email: str,
        display_name: str,
        roles: frozenset[Role],
        language: str,
        practitioner_id: str,
        actor: Principal | str,
    ) -> User:
        """Create a user without a password and mail them a link to set one."""
        if not roles:
            raise InvalidArgument("roles: at least one role is required")
        user = await self.create_user(
            email=email,
            display_name=display_name,
            roles=roles,
            language=language,
            practitioner_id=practitioner_id,
        )
        link = await self._action_link(user, "invite", INVITE_LIFETIME, "set-password")
        await self._send(
            user,
            "Your VoiceAssist account",
            f"Hello {user.display_name},\n\nAn account was created for you. Choose your password "
            f"here (the link works once, for 7 days):\n\n{link}\n",
        )
        await self._audit(actor, "auth.user_invited", user.id, AuditOutcome.SUCCEEDED)
        return user

    async def set_roles(self, user_id: str, roles: frozenset[Role], actor: Principal | str) -> User:
        """Replace a user's roles; their open sessions end, so new tokens carry the new roles."""
        if not roles:
            raise InvalidArgument("roles: at least one role is required")
        user = await self.user(user_id)
        if not user.enabled and Role.ADMIN in roles:
            raise FailedPrecondition("the user is disabled; enable them before granting admin")
        updated = await self.store.set_roles(user.id, frozenset(role.value for role in roles))
        if updated is None:
            raise NotFound("no user with this id")
        if updated.roles != user.roles:
            await self.store.revoke_user_sessions(user.id, "roles_changed", self.clock())
        await self._audit(actor, "auth.role_changed", user.id, AuditOutcome.SUCCEEDED)
        return updated

    async def set_enabled(self, user_id: str, enabled: bool, actor: Principal | str) -> User:
        """Enable or disable a user.

        Disabling ends every session (refresh tokens stop working and access tokens stop verifying).
        """
        user = await self.user(user_id)
        updated = await self.store.set_enabled(user.id, enabled)
        if updated is None:
            raise NotFound("no user with this id")
        if not enabled:
            await self.store.revoke_user_sessions(user.id, "disabled", self.clock())
        action = "auth.user_enabled" if enabled else "auth.user_disabled"
        await self._audit(actor, action, user.id, AuditOutcome.SUCCEEDED)
        return updated

    async def reset_mfa(self, user_id: str, actor: Principal | str) -> User:
        """Remove a user's TOTP enrolment; they enrol again at their next sign-in."""
        user = await self.user(user_id)
        updated = await self.store.clear_mfa(user.id)
        if updated is None:
            raise NotFound("no user with this id")
        await self.store.revoke_user_sessions(user.id, "mfa_reset", self.clock())
        await self._audit(actor, "auth.mfa_reset", user.id, AuditOutcome.SUCCEEDED)
        return updated

    async def send_email_verification(self, user: User) -> None:
        """Mail the user a single-use link proving they read mail at their address."""
        link = await self._action_link(user, "verify_email", VERIFY_EMAIL_LIFETIME, "verify-email")
        await self._send(
            user,
            "Confirm your e-mail address",
            f"Hello {user.display_name},\n\nConfirm your address for VoiceAssist (the link works "
            f"once, for 24 hours):\n\n{link}\n",
        )

    async def verify_email(self, token: str) -> User | None:
        """Spend a verification link's token; the user, or None for a bad or spent link."""
        user_id = await self.store.use_action_token(
            credentials.digest(token), ("verify_email",), self.clock()
        )
        if user_id is None:
            return None
        return await self.store.set_email_verified(user_id)

    async def register_patient(
        self, *, email: str, display_name: str, password: str, ip: str, language: str = "en"
    ) -> User:
        """Create a patient account from the sign-up form and mail its verification link.

        SignInRefused says what to correct. A taken address is refused as such (the person
        must sign in instead), and counted against ``ip`` like a failed sign-in.
        """
        now = self.clock()
        since = now - self.policy.failure_window
        if self.policy.throttles_ip(
            await self.store.failures_since(email=None, ip=ip, since=since)
        ):
            await self._audit("anonymous", "auth.registration_refused", None, AuditOutcome.DENIED)
            raise SignInRefused("Too many attempts from your network. Try again later.")
        email = normalise_email(email)
        display_name = " ".join(display_name.split())
        if not looks_like_email(email):
            raise SignInRefused("Enter a valid e-mail address.")
        if not display_name or len(display_name) > 200:
            raise SignInRefused("Enter your name (at most 200 characters).")
        problem = credentials.password_problem(password, personal=(email, display_name))
        if problem:
            raise SignInRefused(f"Choose another password: {problem}.")
        try:
            user = await self.create_user(
                email=email,
                display_name=display_name,
                roles=frozenset({Role.PATIENT}),
                password=password,
                language=language if language in LANGUAGES else "en",
            )
        except AlreadyExists:
            # Recorded without the address: a stranger's tries must not lock its owner out.
            await self.store.record_attempt("", ip, succeeded=False, now=now)
            await self._audit("anonymous", "auth.registration_refused", None, AuditOutcome.DENIED)
            raise SignInRefused(_TAKEN) from None
        except InvalidArgument as error:
            raise SignInRefused(error.message) from None
        await self._audit(str(user.id), "auth.registered", user.id, AuditOutcome.SUCCEEDED)
        await self.send_email_verification(user)
        return user

    def request_password_reset_later(self, email: str) -> None:
        """Start `request_password_reset` without waiting for it.

        The page that asks answers at once, so how long it takes does not tell whether the
        address has an account (a mail to send) or not.
        """
        self._in_background(self.request_password_reset(email))

    async def request_password_reset(self, email: str) -> None:
        """Mail a reset link if the account exists and is enabled; say nothing either way.

        At most RESET_MAILS_PER_WINDOW links per RESET_MAIL_WINDOW, so the form cannot be used to
        flood someone's mailbox.
        """
        user = await self.store.user_by_email(normalise_email(email))
        if user is None or not user.enabled:
            return
        recent = await self.store.count_action_tokens(
            user.id,
            "reset_password",
            expiring_after=self.clock() + RESET_LIFETIME - RESET_MAIL_WINDOW,
        )
        if recent >= RESET_MAILS_PER_WINDOW:
            await self._audit(
                str(user.id), "auth.password_reset_throttled", user.id, AuditOutcome.DENIED
            )
            return
        link = await self._action_link(user, "reset_password", RESET_LIFETIME, "reset-password")
        await self._send(
            user,
            "Reset your VoiceAssist password",
            f"Hello {user.display_name},\n\nSomeone asked to reset your password. If it was you, "
            f"choose a new one here (the link works once, for 1 hour):\n\n{link}\n\n"
            "If it was not you, ignore this message.",
        )

    async def reset_password(self, token: str, password: str) -> User:
        """Set a new password with a reset or invitation link's token; every session ends.

        InvalidArgument for a weak password (the token is not spent then), FailedPrecondition
        for a bad, expired or spent link.
        """
        problem = credentials.password_problem(password)
        if problem:
            raise InvalidArgument(f"password: {problem}")
        now = self.clock()
        user_id = await self.store.use_action_token(
            credentials.digest(token), ("reset_password", "invite"), now
        )
        if user_id is None:
            raise FailedPrecondition("this link is not valid any more; ask for a new one")
        user = await self.store.set_password(user_id, credentials.hash_password(password))
        if user is None:
            raise NotFound("no user with this id")
        # Whoever reads the mail owns the address: an invitation also verifies it.
        user = await self.store.set_email_verified(user_id) or user
        await self.store.revoke_user_sessions(user_id, "password_reset", now)
        await self._audit(str(user_id), "auth.password_reset", user_id, AuditOutcome.SUCCEEDED)
        return user

    async def _action_link(self, user: User, purpose: str, lifetime: timedelta, page: str) -> str:
        token = credentials.new_secret()
        await self.store.add_action_token(
            credentials.digest(token), user.id, purpose, self.clock() + lifetime
        )
        return f"{self.issuer}/login-actions/{page}?token={token}"

    def _in_background(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("background work failed (%s)", type(task.exception()).__name__)

    async def settle(self) -> None:
        """Wait for the work started in the background (mail): at shutdown, and in tests."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _send(self, user: User, subject: str, body: str) -> None:
        try:
            await self.mail.send(Mail(to=user.email, subject=subject, body=body))
        except Exception as error:  # the account change stands; the mail can be sent again
            logger.warning("could not send mail (%s)", type(error).__name__)

    # Signing in --------------------------------------------------------------------------------

    async def check_password(self, email: str, password: str, ip: str) -> User:
        """First sign-in step: the password. SignInRefused with what to tell the person."""
        now = self.clock()
        since = now - self.policy.failure_window
        email = normalise_email(email)
        if self.policy.throttles_ip(
            await self.store.failures_since(email=None, ip=ip, since=since)
        ):
            await self._audit("anonymous", "auth.sign_in_failed", None, AuditOutcome.DENIED)
            raise SignInRefused("Too many failed sign-ins from your network. Try again later.")
        user = await self.store.user_by_email(email) if email else None
        if user is not None and user.locked_at(now):
            await self._audit(str(user.id), "auth.sign_in_failed", user.id, AuditOutcome.DENIED)
            raise SignInRefused(_LOCKED)
        if not credentials.verify_password(user.password_hash if user else None, password):
            await self.failed_step(email, ip, user)
            raise SignInRefused(
                _LOCKED if user is not None and await self._locked_now(user) else _BAD_PASSWORD
            )
        assert user is not None  # noqa: S101 - a password only verifies against a real hash
        if not user.enabled:
            await self._audit(str(user.id), "auth.sign_in_failed", user.id, AuditOutcome.DENIED)
            raise SignInRefused("This account is disabled. Contact your administrator.")
        return user

    async def failed_step(self, email: str, ip: str, user: User | None) -> None:
        """Count a failed password or second factor; lock the account at the limit."""
        now = self.clock()
        await self.store.record_attempt(email, ip, succeeded=False, now=now)
        actor = str(user.id) if user else "anonymous"
        await self._audit(
            actor, "auth.sign_in_failed", user.id if user else None, AuditOutcome.FAILED
        )
        if user is None:
            return
        failures = await self.store.failures_since(
            email=user.email, ip=None, since=now - self.policy.failure_window
        )
        if self.policy.locks_account(failures):
            await self.store.lock(user.id, now + self.policy.lockout)
            await self._audit(str(user.id), "auth.lockout", user.id, AuditOutcome.SUCCEEDED)

    async def _locked_now(self, user: User) -> bool:
        fresh = await self.store.user_by_id(user.id)
        return fresh is not None and fresh.locked_at(self.clock())

    async def check_second_factor(self, user: User, code: str, ip: str) -> None:
        """Second step: a TOTP code, or a recovery code (spent by using it).

        A TOTP code works once: its time step is spent, and a code of that step or an earlier one
        is refused afterwards (RFC 6238 §5.2), as a failed attempt.
        """
        now = self.clock()
        fresh = await self.store.user_by_id(user.id)
        if fresh is None or fresh.locked_at(now):
            raise SignInRefused(_LOCKED)
        step = (
            credentials.totp_step(fresh.totp_secret, code, at=now.timestamp())
            if fresh.totp_secret
            else None
        )
        if step is not None:
            if await self.store.accept_totp_step(user.id, step):
                return
            await self.failed_step(user.email, ip, user)
            raise SignInRefused(_LOCKED if await self._locked_now(user) else _TOTP_REPLAYED)
        recovery = credentials.normalise_recovery_code(code)
        if len(recovery) > 8 and await self.store.use_recovery_code(
            user.id, credentials.digest(recovery), now
        ):
            return
        await self.failed_step(user.email, ip, user)
        raise SignInRefused(_LOCKED if await self._locked_now(user) else "Invalid code.")

    async def enrol_totp(self, user: User, secret: str, code: str, ip: str) -> list[str]:
        """Finish a TOTP enrolment with a first code; returns the recovery codes to show once.

        The first code is spent like any other: it cannot sign in again.
        """
        now = self.clock()
        step = credentials.totp_step(secret, code, at=now.timestamp())
        if step is None:
            await self.failed_step(user.email, ip, user)
            raise SignInRefused("That code does not match. Check your authenticator's clock.")
        codes = credentials.new_recovery_codes()
        await self.store.enrol_totp(
            user.id, secret, [credentials.digest(c) for c in codes], now, accepted_step=step
        )
        await self._audit(str(user.id), "auth.mfa_enrolled", user.id, AuditOutcome.SUCCEEDED)
        return codes

    async def open_session(
        self, user: User, client_id: str, amr: tuple[str, ...], ip: str
    ) -> SessionRecord:
        """Return the person passed every step: record it and open a sign-in session."""
        now = self.clock()
        await self.store.record_attempt(user.email, ip, succeeded=True, now=now)
        await self.store.signed_in(user.id, now)
        session = await self.store.create_session(
            subject=str(user.id),
            user_id=user.id,
            client_id=client_id,
            amr=amr,
            now=now,
            expires_at=now + self.lifetimes.session,
        )
        await self._audit(str(user.id), "auth.sign_in", user.id, AuditOutcome.SUCCEEDED)
        return session

    async def issue_code(
        self,
        session: SessionRecord,
        *,
        client_id: str,
        redirect_uri: str,
        scope: str,
        nonce: str | None,
        code_challenge: str | None,
    ) -> str:
        """Return a single-use authorization code for the session, valid for 60 seconds."""
        code = credentials.new_secret()
        await self.store.add_code(
            credentials.digest(code),
            session_id=session.id,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=scope,
            nonce=nonce,
            code_challenge=code_challenge,
            expires_at=self.clock() + CODE_LIFETIME,
        )
        return code

    # Token endpoint ----------------------------------------------------------------------------

    def check_token_rate(self, client_id: str | None, ip: str) -> None:
        """Count one token request of ``client_id`` from ``ip``; OAuthError 429 past the limit.

        Counted before the client authenticates, so guessing a client secret is slowed too.
        """
        key = f"{(client_id or '')[:64]}|{ip}"
        retry_after = self.token_requests.take(key, self.clock().timestamp())
        if retry_after is not None:
            seconds = int(retry_after)
            raise OAuthError(
                "temporarily_unavailable",
                f"too many token requests; retry in {seconds} s",
                429,
                retry_after=seconds,
            )

    def authenticate_client(self, client_id: str | None, secret: str | None) -> Client:
        """Return the calling client; OAuthError invalid_client if unknown or the secret is bad."""
        client = self.clients.get(client_id or "")
        if client is None or not client.authenticates(secret):
            raise OAuthError("invalid_client", "client authentication failed", 401)
        return client

    async def exchange_code(
        self, client: Client, code: str, redirect_uri: str, verifier: str | None
    ) -> dict[str, Any]:
        """RFC 6749 §4.1.3 with RFC 7636: trade a code for tokens."""
        now = self.clock()
        grant = await self.store.take_code(credentials.digest(code), now)
        if grant is None:
            raise OAuthError("invalid_grant", "the code is not valid")
        if grant.used_at is not None:
            # RFC 6749 §4.1.2: a replayed code should revoke what it issued.
            await self.store.revoke_session(grant.session_id, "code_replay", now)
            raise OAuthError("invalid_grant", "the code was used already")
        if grant.expires_at <= now:
            raise OAuthError("invalid_grant", "the code has expired")
        if grant.client_id != client.id:
            raise OAuthError("invalid_grant", "the code was issued to another client")
        if grant.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
        if grant.code_challenge is not None:
            if not verifier or not credentials.pkce_s256_matches(verifier, grant.code_challenge):
                raise OAuthError("invalid_grant", "PKCE verification failed")
        elif client.public:
            raise OAuthError("invalid_grant", "PKCE is required for public clients")
        session = await self._live_session(grant.session_id)
        return await self._tokens(session, client, grant.scope, grant.nonce, with_id_token=True)

    async def refresh(self, client: Client, refresh_token: str) -> dict[str, Any]:
        """Rotate a refresh token; reuse of a rotated one ends the whole session."""
        now = self.clock()
        grant = await self.store.take_refresh(credentials.digest(refresh_token), now)
        if grant is None or grant.client_id != client.id:
            raise OAuthError("invalid_grant", "the refresh token is not valid")
        if grant.used_at is not None:
            session = await self.store.session(grant.session_id)
            await self.store.revoke_session(grant.session_id, "refresh_reuse", now)
            user_id = session.user_id if session else None
            await self._audit(
                str(user_id) if user_id else "anonymous",
                "auth.refresh_reuse",
                user_id,
                AuditOutcome.DENIED,
            )
            raise OAuthError("invalid_grant", "the refresh token was used already; signed out")
        if grant.expires_at <= now:
            raise OAuthError("invalid_grant", "the refresh token has expired")
        session = await self._live_session(grant.session_id)
        return await self._tokens(session, client, grant.scope, None, with_id_token=True)

    async def _live_session(self, session_id: str) -> SessionRecord:
        session = await self.store.session(session_id)
        if session is None or not session.active_at(self.clock()):
            raise OAuthError("invalid_grant", "the sign-in session has ended")
        if session.user_id is not None:
            user = await self.store.user_by_id(session.user_id)
            if user is None or not user.enabled:
                raise OAuthError("invalid_grant", "the account is disabled")
        return session

    async def _grant(self, session: SessionRecord, scope: str) -> Grant:
        user = await self.store.user_by_id(session.user_id) if session.user_id else None
        return Grant(
            issuer=self.issuer,
            subject=session.subject,
            client_id=session.client_id,
            session_id=session.id,
            auth_time=int(session.auth_time.timestamp()),
            scope=scope,
            roles=user.roles if user else frozenset({Role.PATIENT}),
            amr=session.amr,
            email=user.email if user else None,
            email_verified=user.email_verified if user else False,
            name=user.display_name if user else None,
            guest=user is None,
        )

    async def _tokens(
        self,
        session: SessionRecord,
        client: Client,
        scope: str,
        nonce: str | None,
        *,
        with_id_token: bool,
    ) -> dict[str, Any]:
        now = self.clock()
        grant = await self._grant(session, scope)
        issued = int(now.timestamp())
        access_seconds = int(self.lifetimes.access.total_seconds())
        access = await self.keys.sign(
            access_token_claims(grant, now=issued, lifetime=access_seconds, jti=str(uuid4()))
        )
        refresh = credentials.new_secret()
        refresh_until = min(now + self.lifetimes.refresh_idle, session.expires_at)
        await self.store.add_refresh(
            credentials.digest(refresh),
            session_id=session.id,
            client_id=client.id,
            scope=scope,
            expires_at=refresh_until,
        )
        answer: dict[str, Any] = {
            "access_token": access,
            "expires_in": access_seconds,
            "refresh_expires_in": int((refresh_until - now).total_seconds()),
            "refresh_token": refresh,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "session_state": session.id,
            "scope": scope,
        }
        if with_id_token and "openid" in scope.split():
            answer["id_token"] = await self.keys.sign(
                id_token_claims(
                    grant, now=issued, lifetime=access_seconds, jti=str(uuid4()), nonce=nonce
                )
            )
        return answer

    # Tokens in use -------------------------------------------------------------------------------

    async def verify_access_token(self, token: str) -> Principal:
        """Return the principal of a valid access token whose session has not ended.

        TokenRejected otherwise (reason ``revoked`` is reported as `RevokedToken`).
        """
        principal = await self.verifier.verify(token)
        if principal.session_id is not None:
            session = await self.store.session(principal.session_id)
            if session is None or not session.active_at(self.clock()):
                raise RevokedToken
        return principal

    async def userinfo(self, token: str) -> dict[str, Any]:
        """Claims about the person an access token speaks for."""
        principal = await self.verify_access_token(token)
        session = await self.store.session(principal.session_id or "")
        if session is None:
            raise RevokedToken
        return userinfo_claims(await self._grant(session, str(principal.claims.get("scope", ""))))

    async def logout_refresh_token(self, client: Client, refresh_token: str) -> None:
        """End the session a refresh token belongs to (python-keycloak's ``logout``)."""
        grant = await self.store.take_refresh(credentials.digest(refresh_token), self.clock())
        if grant is None or grant.client_id != client.id:
            raise OAuthError("invalid_grant", "the refresh token is not valid")
        await self.store.revoke_session(grant.session_id, "logout", self.clock())

    async def logout_session(self, session_id: str) -> None:
        """End a session named by an ID token hint."""
        await self.store.revoke_session(session_id, "logout", self.clock())

    # Guests ---------------------------------------------------------------------------------------

    async def create_guest(self) -> tuple[str, str, datetime]:
        """Return a guest session: subject, access token (scope ``openid guest``) and its expiry."""
        now = self.clock()
        subject = f"guest-{uuid4()}"
        expires = now + self.lifetimes.guest
        session = await self.store.create_session(
            subject=subject,
            user_id=None,
            client_id=WEB_CLIENT,
            amr=(),
            now=now,
            expires_at=expires,
        )
        grant = await self._grant(session, GUEST_SCOPE)
        token = await self.keys.sign(
            access_token_claims(
                grant,
                now=int(now.timestamp()),
                lifetime=int(self.lifetimes.guest.total_seconds()),
                jti=str(uuid4()),
            )
        )
        await self._audit(subject, "auth.guest_session", None, AuditOutcome.SUCCEEDED, guest=True)
        return subject, token, expires

    async def upgrade_guest(self, guest_token: str, user_id: str) -> tuple[User, str]:
        """Hand a guest's records to an account; the guest token stops working."""
        try:
            principal = await self.verify_access_token(guest_token)
        except (TokenRejected, RevokedToken):
            raise FailedPrecondition("the guest session is not valid (expired or used)") from None
        if not principal.claims.get("voiceassist_guest") or principal.session_id is None:
            raise InvalidArgument("guest_access_token: not a guest token")
        user = await self.user(user_id)
        if not await self.store.upgrade_guest(principal.session_id, user.id, self.clock()):
            raise FailedPrecondition("the guest session was upgraded already")
        await self._audit(str(user.id), "auth.guest_upgraded", user.id, AuditOutcome.SUCCEEDED)
        return user, principal.subject

    # Audit ----------------------------------------------------------------------------------------

    async def _audit(
        self,
        actor: Principal | str,
        action: str,
        user_id: UUID | None,
        outcome: AuditOutcome,
        *,
        guest: bool = False,
    ) -> None:
        kind = None
        if isinstance(actor, str):
            kind = (
                ActorKind.GUEST
                if guest
                else (ActorKind.ANONYMOUS if actor == "anonymous" else ActorKind.USER)
            )
        await self.audit.record(
            actor=actor,
            action=action,
            resource_type="user",
            resource_id=str(user_id) if user_id else "unknown",
            outcome=outcome,
            actor_kind=kind,
        )


class RevokedToken(Exception):  # noqa: N818 - reads as the outcome at call sites
    """A well-formed, signed, unexpired token whose sign-in session has ended."""


_LOCKED = "This account is locked after too many failed sign-ins. Try again in 15 minutes."
_TAKEN = (
    'An account with this e-mail address exists already. Sign in, or use "Forgot password?" '
    "on the sign-in page."
)
_TOTP_REPLAYED = "This code was used already. Wait for your app to show the next one."
_BAD_PASSWORD = "Invalid e-mail or password."  # noqa: S105 - a message, not a password
