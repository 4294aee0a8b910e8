"""Alembic migrations of the `admin` schema: the audit trail and clinic settings.

`python -m voiceassist_admin migrate` applies them through `voiceassist_common.db.upgrade`.
A new migration starts from `alembic.command.revision(alembic_config(None, schema=SCHEMA,
script_location=SCRIPT_LOCATION), message=..., rev_id="000N")`.
"""

from pathlib import Path

SCHEMA = "admin"
"""The PostgreSQL schema the admin service owns; its connections see only this schema."""

SCRIPT_LOCATION = Path(__file__).parent
"""Alembic's script location: this folder (env.py, script.py.mako, versions/)."""
