"""Users, credentials, sign-in sessions, OAuth codes and tokens, and signing keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Every secret the provider hands out (refresh tokens, authorization codes, recovery codes,
e-mail and reset tokens) is stored as its SHA-256 digest only: a copy of this database lets
nobody sign in. Passwords are argon2id hashes. The TOTP seed must be readable to check a code,
so it is stored as is; protecting it at rest is the database's encryption (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = """
CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    display_name text NOT NULL,
    roles text[] NOT NULL DEFAULT '{}',
    enabled boolean NOT NULL DEFAULT true,
    email_verified boolean NOT NULL DEFAULT false,
    language text NOT NULL DEFAULT 'en',
    practitioner_id text NOT NULL DEFAULT '',
    password_hash text,
    totp_secret text,
    mfa_enrolled_at timestamptz,
    locked_until timestamptz,
    create_time timestamptz NOT NULL DEFAULT now(),
    last_sign_in_time timestamptz,
    CONSTRAINT users_roles_known CHECK (roles <@ ARRAY['patient', 'clinician', 'admin']::text[])
);
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));

CREATE TABLE recovery_codes (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash text NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE action_tokens (
    token_hash text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'invite')),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

CREATE TABLE sign_in_attempts (
    id bigserial PRIMARY KEY,
    email text NOT NULL,
    ip text NOT NULL,
    succeeded boolean NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_attempts_email ON sign_in_attempts (lower(email), at);
CREATE INDEX sign_in_attempts_ip ON sign_in_attempts (ip, at);

CREATE TABLE sessions (
    id text PRIMARY KEY,
    subject text NOT NULL,
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    client_id text NOT NULL,
    amr text[] NOT NULL DEFAULT '{}',
    auth_time timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_reason text,
    upgraded_to uuid REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE authorization_codes (
    code_hash text PRIMARY KEY,
    session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id text NOT NULL,
    redirect_uri text NOT NULL,
    scope text NOT NULL,
    nonce text,
    code_challenge text,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id text NOT NULL,
    scope text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE sign_in_flows (
    id text PRIMARY KEY,
    csrf_token text NOT NULL,
    request jsonb NOT NULL,
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    stage text NOT NULL,
    pending_totp_secret text,
    expires_at timestamptz NOT NULL
);

CREATE TABLE signing_keys (
    kid text PRIMARY KEY,
    private_jwk jsonb NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    published_until timestamptz
);
"""


def upgrade() -> None:
    """Create the tables of the built-in identity provider."""
    for statement in TABLES.split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    """Drop them, children first."""
    for table in (
        "signing_keys",
        "sign_in_flows",
        "refresh_tokens",
        "authorization_codes",
        "sessions",
        "sign_in_attempts",
        "action_tokens",
        "recovery_codes",
        "users",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table}")
