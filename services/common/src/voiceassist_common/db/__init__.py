"""PostgreSQL for services that own tables: a schema-confined asyncpg pool and migrations.

Imports the optional ``db`` extra of voiceassist-common (asyncpg, Alembic, SQLAlchemy); only
services that own tables install it.
"""

from voiceassist_common.db.migrations import (
    VERSION_TABLE,
    alembic_config,
    current,
    head,
    run_alembic_environment,
    upgrade,
)
from voiceassist_common.db.pool import DatabaseUnavailableError, SchemaMissingError, create_pool
from voiceassist_common.db.schemas import describe_database, quoted_schema, search_path

__all__ = [
    "VERSION_TABLE",
    "DatabaseUnavailableError",
    "SchemaMissingError",
    "alembic_config",
    "create_pool",
    "current",
    "describe_database",
    "head",
    "quoted_schema",
    "run_alembic_environment",
    "search_path",
    "upgrade",
]
