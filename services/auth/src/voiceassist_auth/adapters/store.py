"""The auth schema in PostgreSQL: users, credentials, sessions, codes, tokens and flows.

One class, because every sign-in touches most of these tables and the invariants that matter
(a code or refresh token is used at most once, a locked account stays locked) are single SQL
statements here: ``UPDATE ... WHERE used_at IS NULL RETURNING`` is what makes a second use of a
refresh token detectable even when two requests race.

Secrets arrive already digested (`voiceassist_auth.domain.credentials.digest`); nothing here
ever sees a raw code, token or password.
"""

# The queries splice in only this module's constant column lists and clauses, never input.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from voiceassist_common.errors import AlreadyExists

from voiceassist_auth.domain.accounts import User, parse_roles

__all__ = ["AuthStore", "CodeGrant", "RefreshGrant", "SessionRecord", "SignInFlow"]

_USER_COLUMNS = (
    "id, email, display_name, roles, enabled, email_verified, language, practitioner_id, "
    "create_time, last_sign_in_time, password_hash, totp_secret, mfa_enrolled_at, locked_until"
)


@dataclass(frozen=True)
class SessionRecord:
    """One sign-in session (``sid``): a person or guest signed in to one client."""

    id: str
    subject: str
    user_id: UUID | None
    client_id: str
    amr: tuple[str, ...]
    auth_time: datetime
    expires_at: datetime
    revoked_at: datetime | None
    upgraded_to: UUID | None

    def active_at(self, now: datetime) -> bool:
        """Whether tokens of this session are still honoured at ``now``."""
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class CodeGrant:
    """What an authorization code was issued for."""

    session_id: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token was issued for, and whether it was used already."""

    session_id: str
    client_id: str
    scope: str
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class SignInFlow:
    """A browser sign-in between the authorize request and the redirect back to the client."""

    id: str
    csrf_token: str
    request: dict[str, str]
    user_id: UUID | None
    stage: str
    pending_totp_secret: str | None
    expires_at: datetime


def _user(row: asyncpg.Record) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        display_name=row["display_name"],
        roles=parse_roles(list(row["roles"])),
        enabled=row["enabled"],
        email_verified=row["email_verified"],
        language=row["language"],
        practitioner_id=row["practitioner_id"],
        create_time=row["create_time"],
        last_sign_in_time=row["last_sign_in_time"],
        password_hash=row["password_hash"],
        totp_secret=row["totp_secret"],
        mfa_enrolled_at=row["mfa_enrolled_at"],
        locked_until=row["locked_until"],
    )


def _session(row: asyncpg.Record) -> SessionRecord:
    return SessionRecord(
        id=row["id"],
        subject=row["subject"],
        user_id=row["user_id"],
        client_id=row["client_id"],
        amr=tuple(row["amr"]),
        auth_time=row["auth_time"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        upgraded_to=row["upgraded_to"],
    )


class AuthStore:
    """The auth schema, through a pool confined to it."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self.pool = pool

    # Users ---------------------------------------------------------------------------------

    async def create_user(
        self,
        *,
        email: str,
        display_name: str,
        roles: frozenset[str],
        language: str = "en",
        practitioner_id: str = "",
        password_hash: str | None = None,
        email_verified: bool = False,
        now: datetime,
    ) -> User:
        """Add a user; AlreadyExists when the e-mail (in any case) is taken."""
        try:
            row = await self.pool.fetchrow(
                f"INSERT INTO users (id, email, display_name, roles, language, practitioner_id, "
                f"password_hash, email_verified, create_time) "
                f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_USER_COLUMNS}",
                uuid4(),
                email,
                display_name,
                sorted(roles),
                language,
                practitioner_id,
                password_hash,
                email_verified,
                now,
            )
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("a user with this e-mail address exists already") from None
        assert row is not None  # noqa: S101 - INSERT ... RETURNING always returns the row
        return _user(row)

    async def user_by_id(self, user_id: UUID) -> User | None:
        """Return the user with this id, or None."""
        row = await self.pool.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", user_id)
        return _user(row) if row else None

    async def user_by_email(self, email: str) -> User | None:
        """Return the user with this e-mail in any case, or None."""
        row = await self.pool.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM users WHERE lower(email) = lower($1)", email
        )
        return _user(row) if row else None

    async def list_users(
        self,
        *,
        roles: Sequence[str],
        query: str,
        enabled: bool | None,
        limit: int,
        offset: int,
    ) -> tuple[list[User], int]:
        """Return a page of users by e-mail, and how many match in all."""
        pattern = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = (
            "(cardinality($1::text[]) = 0 OR roles && $1::text[]) "
            "AND (lower(email) LIKE $2 OR lower(display_name) LIKE $2) "
            "AND ($3::boolean IS NULL OR enabled = $3)"
        )
        rows = await self.pool.fetch(
            f"SELECT {_USER_COLUMNS}, count(*) OVER () AS total FROM users WHERE {where} "
            "ORDER BY lower(email) LIMIT $4 OFFSET $5",
            list(roles),
            pattern,
            enabled,
            limit,
            offset,
        )
        if rows:
            return [_user(row) for row in rows], int(rows[0]["total"])
        total = await self.pool.fetchval(
            f"SELECT count(*) FROM users WHERE {where}", list(roles), pattern, enabled
        )
        return [], int(total or 0)

    async def _update_user(self, user_id: UUID, assignments: str, *values: Any) -> User | None:
        row = await self.pool.fetchrow(
            f"UPDATE users SET {assignments} WHERE id = $1 RETURNING {_USER_COLUMNS}",
            user_id,
            *values,
        )
        return _user(row) if row else None

    async def set_roles(self, user_id: UUID, roles: frozenset[str]) -> User | None:
        """Replace the user's roles."""
        return await self._update_user(user_id, "roles = $2", sorted(roles))

    async def set_enabled(self, user_id: UUID, enabled: bool) -> User | None:
        """Enable or disable the user."""
        return await self._update_user(user_id, "enabled = $2", enabled)

    async def set_password(self, user_id: UUID, password_hash: str) -> User | None:
        """Replace the password hash and lift a lockout."""
        return await self._update_user(
            user_id, "password_hash = $2, locked_until = NULL", password_hash
        )

    async def set_email_verified(self, user_id: UUID) -> User | None:
        """Record that the user proved they read mail at their address."""
        return await self._update_user(user_id, "email_verified = true")

    async def enrol_totp(
        self,
        user_id: UUID,
        secret: str,
        recovery_hashes: Sequence[str],
        now: datetime,
        *,
        accepted_step: int | None = None,
    ) -> User | None:
        """Store the TOTP secret and replace the recovery codes, in one transaction.

        ``accepted_step`` is the time step of the code that confirmed the enrolment: it is spent.
        """
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                f"UPDATE users SET totp_secret = $2, mfa_enrolled_at = $3, totp_last_step = $4 "
                f"WHERE id = $1 RETURNING {_USER_COLUMNS}",
                user_id,
                secret,
                now,
                accepted_step,
            )
            await connection.execute("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
            await connection.executemany(
                "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
                [(user_id, code_hash) for code_hash in recovery_hashes],
            )
        return _user(row) if row else None

    async def clear_mfa(self, user_id: UUID) -> User | None:
        """Remove the TOTP enrolment and its recovery codes."""
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
            row = await connection.fetchrow(
                f"UPDATE users SET totp_secret = NULL, mfa_enrolled_at = NULL, "
                f"totp_last_step = NULL WHERE id = $1 "
                f"RETURNING {_USER_COLUMNS}",
                user_id,
            )
        return _user(row) if row else None

    async def accept_totp_step(self, user_id: UUID, step: int) -> bool:
        """Spend a TOTP time step: False when this step or a later one was accepted already.

        One statement, so two sign-ins racing with the same code cannot both pass.
        """
        accepted = await self.pool.fetchval(
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 "
            "AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING true",
            user_id,
            step,
        )
        return bool(accepted)

    async def use_recovery_code(self, user_id: UUID, code_hash: str, now: datetime) -> bool:
        """Spend one recovery code; False when it is unknown or spent."""
        spent = await self.pool.fetchval(
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 "
            "AND used_at IS NULL RETURNING true",
            user_id,
            code_hash,
            now,
        )
        return bool(spent)

    async def lock(self, user_id: UUID, until: datetime) -> None:
        """Refuse every sign-in of the user until ``until``."""
        await self.pool.execute("UPDATE users SET locked_until = $2 WHERE id = $1", user_id, until)

    async def signed_in(self, user_id: UUID, now: datetime) -> None:
        """Record a successful sign-in."""
        await self.pool.execute(
            "UPDATE users SET last_sign_in_time = $2, locked_until = NULL WHERE id = $1",
            user_id,
            now,
        )

    # Sign-in attempts ------------------------------------------------------------------------

    async def record_attempt(self, email: str, ip: str, *, succeeded: bool, now: datetime) -> None:
        """Remember one password check, for lockout and rate limits."""
        await self.pool.execute(
            "INSERT INTO sign_in_attempts (email, ip, succeeded, at) "
            "VALUES (lower($1), $2, $3, $4)",
            email,
            ip,
            succeeded,
            now,
        )

    async def failures_since(self, *, email: str | None, ip: str | None, since: datetime) -> int:
        """Count failures since ``since`` of the account (after its last success) or address."""
        if email is not None:
            count = await self.pool.fetchval(
                "SELECT count(*) FROM sign_in_attempts WHERE lower(email) = lower($1) "
                "AND NOT succeeded AND at >= greatest($2, coalesce((SELECT max(at) FROM "
                "sign_in_attempts WHERE lower(email) = lower($1) AND succeeded), $2))",
                email,
                since,
            )
        else:
            count = await self.pool.fetchval(
                "SELECT count(*) FROM sign_in_attempts WHERE ip = $1 AND NOT succeeded "
                "AND at >= $2",
                ip,
                since,
            )
        return int(count or 0)

    # One-time e-mail tokens ----------------------------------------------------------------------

    async def add_action_token(
        self, token_hash: str, user_id: UUID, purpose: str, expires_at: datetime
    ) -> None:
        """Store the digest of an e-mail link's token."""
        await self.pool.execute(
            "INSERT INTO action_tokens (token_hash, user_id, purpose, expires_at) "
            "VALUES ($1, $2, $3, $4)",
            token_hash,
            user_id,
            purpose,
            expires_at,
        )

    async def count_action_tokens(
        self, user_id: UUID, purpose: str, *, expiring_after: datetime
    ) -> int:
        """Count the user's tokens for ``purpose`` that expire after ``expiring_after``.

        Tokens of one purpose share a lifetime, so this counts those handed out recently.
        """
        count = await self.pool.fetchval(
            "SELECT count(*) FROM action_tokens WHERE user_id = $1 AND purpose = $2 "
            "AND expires_at > $3",
            user_id,
            purpose,
            expiring_after,
        )
        return int(count or 0)

    async def use_action_token(
        self, token_hash: str, purposes: Sequence[str], now: datetime
    ) -> UUID | None:
        """Spend a token for one of ``purposes``; the user it was for, or None."""
        user_id: UUID | None = await self.pool.fetchval(
            "UPDATE action_tokens SET used_at = $3 WHERE token_hash = $1 "
            "AND purpose = ANY($2::text[]) AND used_at IS NULL AND expires_at > $3 "
            "RETURNING user_id",
            token_hash,
            list(purposes),
            now,
        )
        return user_id

    # Sessions ----------------------------------------------------------------------------------

    async def create_session(
        self,
        *,
        subject: str,
        user_id: UUID | None,
        client_id: str,
        amr: Sequence[str],
        now: datetime,
        expires_at: datetime,
    ) -> SessionRecord:
        """Open a sign-in session with a fresh random id."""
        from voiceassist_auth.domain.credentials import new_secret

        row = await self.pool.fetchrow(
            "INSERT INTO sessions (id, subject, user_id, client_id, amr, auth_time, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
            new_secret()[:32],
            subject,
            user_id,
            client_id,
            list(amr),
            now,
            expires_at,
        )
        assert row is not None  # noqa: S101 - INSERT ... RETURNING always returns the row
        return _session(row)

    async def session(self, session_id: str) -> SessionRecord | None:
        """Return the session with this id, or None."""
        row = await self.pool.fetchrow("SELECT * FROM sessions WHERE id = $1", session_id)
        return _session(row) if row else None

    async def revoke_session(self, session_id: str, reason: str, now: datetime) -> bool:
        """End a session: its access tokens stop verifying and its refresh tokens stop working."""
        done = await self.pool.fetchval(
            "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 "
            "AND revoked_at IS NULL RETURNING true",
            session_id,
            now,
            reason,
        )
        return bool(done)

    async def revoke_user_sessions(self, user_id: UUID, reason: str, now: datetime) -> int:
        """End every open session of a user; how many were open."""
        rows = await self.pool.fetch(
            "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE user_id = $1 "
            "AND revoked_at IS NULL RETURNING id",
            user_id,
            now,
            reason,
        )
        return len(rows)

    async def upgrade_guest(self, session_id: str, user_id: UUID, now: datetime) -> bool:
        """Close a guest session and record the account that now owns its records."""
        done = await self.pool.fetchval(
            "UPDATE sessions SET revoked_at = $3, revoked_reason = 'upgraded', upgraded_to = $2 "
            "WHERE id = $1 AND user_id IS NULL AND revoked_at IS NULL RETURNING true",
            session_id,
            user_id,
            now,
        )
        return bool(done)

    # Authorization codes and refresh tokens ------------------------------------------------------

    async def add_code(
        self,
        code_hash: str,
        *,
        session_id: str,
        client_id: str,
        redirect_uri: str,
        scope: str,
        nonce: str | None,
        code_challenge: str | None,
        expires_at: datetime,
    ) -> None:
        """Store an authorization code's digest and what it grants."""
        await self.pool.execute(
            "INSERT INTO authorization_codes (code_hash, session_id, client_id, redirect_uri, "
            "scope, nonce, code_challenge, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            code_hash,
            session_id,
            client_id,
            redirect_uri,
            scope,
            nonce,
            code_challenge,
            expires_at,
        )

    async def take_code(self, code_hash: str, now: datetime) -> CodeGrant | None:
        """Mark a code used and return what it grants.

        ``used_at`` is set on the result when it had been used before (a replay). None when the code
        is unknown.
        """
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                "SELECT * FROM authorization_codes WHERE code_hash = $1 FOR UPDATE", code_hash
            )
            if row is None:
                return None
            if row["used_at"] is None:
                await connection.execute(
                    "UPDATE authorization_codes SET used_at = $2 WHERE code_hash = $1",
                    code_hash,
                    now,
                )
        return CodeGrant(
            session_id=row["session_id"],
            client_id=row["client_id"],
            redirect_uri=row["redirect_uri"],
            scope=row["scope"],
            nonce=row["nonce"],
            code_challenge=row["code_challenge"],
            expires_at=row["expires_at"],
            used_at=row["used_at"],
        )

    async def add_refresh(
        self, token_hash: str, *, session_id: str, client_id: str, scope: str, expires_at: datetime
    ) -> None:
        """Store a refresh token's digest."""
        await self.pool.execute(
            "INSERT INTO refresh_tokens (token_hash, session_id, client_id, scope, expires_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            token_hash,
            session_id,
            client_id,
            scope,
            expires_at,
        )

    async def take_refresh(self, token_hash: str, now: datetime) -> RefreshGrant | None:
        """Mark a refresh token used (rotation).

        ``used_at`` is set on the result when it had been used before (reuse). None when unknown.
        """
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                "SELECT * FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE", token_hash
            )
            if row is None:
                return None
            if row["used_at"] is None:
                await connection.execute(
                    "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1", token_hash, now
                )
        return RefreshGrant(
            session_id=row["session_id"],
            client_id=row["client_id"],
            scope=row["scope"],
            expires_at=row["expires_at"],
            used_at=row["used_at"],
        )

    # Browser sign-in flows -------------------------------------------------------------------

    async def add_flow(self, flow: SignInFlow) -> None:
        """Store a new browser sign-in flow."""
        await self.pool.execute(
            "INSERT INTO sign_in_flows (id, csrf_token, request, user_id, stage, "
            "pending_totp_secret, expires_at) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7)",
            flow.id,
            flow.csrf_token,
            json.dumps(flow.request),
            flow.user_id,
            flow.stage,
            flow.pending_totp_secret,
            flow.expires_at,
        )

    async def flow(self, flow_id: str, now: datetime) -> SignInFlow | None:
        """Return the unexpired flow with this id, or None."""
        row = await self.pool.fetchrow(
            "SELECT * FROM sign_in_flows WHERE id = $1 AND expires_at > $2", flow_id, now
        )
        if row is None:
            return None
        return SignInFlow(
            id=row["id"],
            csrf_token=row["csrf_token"],
            request=json.loads(row["request"]),
            user_id=row["user_id"],
            stage=row["stage"],
            pending_totp_secret=row["pending_totp_secret"],
            expires_at=row["expires_at"],
        )

    async def advance_flow(
        self, flow_id: str, *, stage: str, user_id: UUID | None, pending_totp_secret: str | None
    ) -> None:
        """Move a flow to its next step."""
        await self.pool.execute(
            "UPDATE sign_in_flows SET stage = $2, user_id = $3, pending_totp_secret = $4 "
            "WHERE id = $1",
            flow_id,
            stage,
            user_id,
            pending_totp_secret,
        )

    async def end_flow(self, flow_id: str) -> None:
        """Forget a finished flow, and any flow that expired."""
        await self.pool.execute(
            "DELETE FROM sign_in_flows WHERE id = $1 OR expires_at < now()", flow_id
        )
