"""Alembic migrations of the `auth` schema: users, credentials, sessions, tokens, signing keys.

`python -m voiceassist_auth migrate` applies them through `voiceassist_common.db.upgrade`.
"""

from pathlib import Path

SCHEMA = "auth"
"""The PostgreSQL schema the auth service owns; its connections see only this schema."""

SCRIPT_LOCATION = Path(__file__).parent
"""Alembic's script location: this folder (env.py, script.py.mako, versions/)."""
