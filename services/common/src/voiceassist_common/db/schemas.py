"""Names of per-service PostgreSQL schemas, checked before they reach SQL.

Each service owns one schema and nothing else; its name is spliced into DDL and into the
``search_path`` (identifiers cannot be bound as query parameters), so it is checked against a
strict pattern first.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def quoted_schema(schema: str) -> str:
    """Return ``schema`` as a quoted SQL identifier; ValueError unless it is a plain name."""
    if not _SCHEMA_NAME.fullmatch(schema) or schema.startswith("pg_"):
        raise ValueError(
            f"schema name {schema!r} must be lower-case letters, digits and '_', "
            "start with a letter and not start with pg_"
        )
    return f'"{schema}"'


def search_path(schema: str) -> str:
    """Return the ``search_path`` of a service: its schema, then ``public`` for extensions.

    Unqualified names are created in, and found first in, the service's schema. ``public``
    holds no tables, only database-wide extensions (pgvector's ``vector`` type), which a
    service could not otherwise name without qualifying them.
    """
    return f"{quoted_schema(schema)}, public"


def describe_database(dsn: str) -> str:
    """Return ``host:port/database`` of a DSN, for log lines: never the user or password."""
    parts = urlsplit(dsn)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path or '/'}"
