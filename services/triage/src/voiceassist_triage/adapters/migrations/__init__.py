"""Alembic migrations of the `triage` schema: recorded assessments and their evidence.

`python -m voiceassist_triage migrate` applies them through `voiceassist_common.db.upgrade`.
A new migration starts from `alembic.command.revision(alembic_config(None, schema=SCHEMA,
script_location=SCRIPT_LOCATION), message=..., rev_id="000N")`.
"""

from pathlib import Path

SCHEMA = "triage"
"""The PostgreSQL schema the triage service owns; its connections see only this schema."""

SCRIPT_LOCATION = Path(__file__).parent
"""Alembic's script location: this folder (env.py, script.py.mako, versions/)."""
