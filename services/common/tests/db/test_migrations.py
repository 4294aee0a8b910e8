"""Each table-owning service migrates its own schema, keeping Alembic's bookkeeping inside it."""

import asyncio
import importlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from voiceassist_common.db import VERSION_TABLE, current, head, upgrade
from voiceassist_common.settings import DatabaseSettings

pytestmark = pytest.mark.integration

# (import package of the service, its schema)
SERVICES = [
    ("voiceassist_auth", "auth"),
    ("voiceassist_medical_kb", "medical_kb"),
    ("voiceassist_triage", "triage"),
    ("voiceassist_scheduling", "scheduling"),
    ("voiceassist_admin", "admin"),
]


# Latest revision and tables of each schema; a service not listed is at "0001" with no tables.
HEADS = {"triage": "0002", "auth": "0003", "admin": "0003", "scheduling": "0004"}
TABLES = {
    "triage": {"assessments"},
    "auth": {
        "users",
        "recovery_codes",
        "action_tokens",
        "sign_in_attempts",
        "sessions",
        "authorization_codes",
        "refresh_tokens",
        "sign_in_flows",
        "signing_keys",
    },
    "admin": {"audit_events", "triage_outcomes", "bookings", "cancellations", "voice_turns"},
    "scheduling": {
        "practices",
        "practitioners",
        "appointment_types",
        "weekly_availability",
        "availability_exceptions",
        "appointments",
        "idempotency_keys",
        "outbox",
        "reminder_deliveries",
    },
}


def migrations_of(package: str) -> tuple[str, Path]:
    module = importlib.import_module(f"{package}.adapters.migrations")
    return module.SCHEMA, module.SCRIPT_LOCATION


def query(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(dsn)
        try:
            return await connection.fetch(sql, *args)
        finally:
            await connection.close()

    return asyncio.run(run())


def tables_in(dsn: str, schema: str) -> set[str]:
    rows = query(
        dsn, "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
    )
    return {row["table_name"] for row in rows}


def test_each_service_declares_the_schema_it_owns() -> None:
    for package, schema in SERVICES:
        declared, location = migrations_of(package)
        assert declared == schema
        assert (location / "env.py").is_file()
        assert (location / "script.py.mako").is_file()
        assert head(location) == HEADS.get(schema, "0001")


def test_every_service_migrates_through_the_one_shared_environment() -> None:
    locations = [migrations_of(package)[1] for package, _ in SERVICES]
    templates = {(location / "script.py.mako").read_text() for location in locations}
    assert len(templates) == 1, "the script.py.mako copies differ; keep them identical"
    for location in locations:
        code = (location / "env.py").read_text()
        assert "run_alembic_environment()" in code
        assert len([line for line in code.splitlines() if line.strip()]) <= 4


@pytest.mark.parametrize(("package", "schema"), SERVICES, ids=[schema for _, schema in SERVICES])
def test_a_fresh_database_gets_the_schema_with_its_version_table_inside(
    fresh_postgres_dsn: str, package: str, schema: str
) -> None:
    settings = DatabaseSettings(database_url=fresh_postgres_dsn)
    _, location = migrations_of(package)
    assert current(settings, schema=schema) is None

    upgrade(settings, schema=schema, script_location=location)

    assert current(settings, schema=schema) == head(location) == HEADS.get(schema, "0001")
    assert tables_in(fresh_postgres_dsn, schema) == {VERSION_TABLE, *TABLES.get(schema, ())}
    assert VERSION_TABLE not in tables_in(fresh_postgres_dsn, "public")
    [comment] = query(fresh_postgres_dsn, "SELECT obj_description($1::regnamespace)", schema)
    assert comment[0].startswith("Owned by the")


def test_all_services_share_a_database_without_sharing_bookkeeping(
    fresh_postgres_dsn: str,
) -> None:
    settings = DatabaseSettings(database_url=fresh_postgres_dsn)
    for package, schema in SERVICES:
        _, location = migrations_of(package)
        upgrade(settings, schema=schema, script_location=location)

    versions = query(
        fresh_postgres_dsn,
        "SELECT table_schema FROM information_schema.tables WHERE table_name = $1",
        VERSION_TABLE,
    )
    assert sorted(row["table_schema"] for row in versions) == sorted(s for _, s in SERVICES)


def test_running_the_migrations_again_changes_nothing(fresh_postgres_dsn: str) -> None:
    settings = DatabaseSettings(database_url=fresh_postgres_dsn)
    _, location = migrations_of("voiceassist_triage")
    upgrade(settings, schema="triage", script_location=location)
    snapshot = """
        SELECT c.relname, c.relkind, c.oid FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'triage' ORDER BY 1
    """
    before = query(fresh_postgres_dsn, snapshot)

    upgrade(settings, schema="triage", script_location=location)

    assert query(fresh_postgres_dsn, snapshot) == before
    versions = query(fresh_postgres_dsn, "SELECT version_num FROM triage.alembic_version")
    assert [row["version_num"] for row in versions] == [HEADS["triage"]]


def test_services_migrating_at_the_same_time_wait_for_each_other(
    fresh_postgres_dsn: str,
) -> None:
    # Separate processes, as replicas of a service would be, so the database lock is what counts.
    script = (
        "import sys\n"
        "from voiceassist_common.db import upgrade\n"
        "from voiceassist_common.settings import DatabaseSettings\n"
        "from voiceassist_scheduling.adapters.migrations import SCHEMA, SCRIPT_LOCATION\n"
        "upgrade(DatabaseSettings(database_url=sys.argv[1]), schema=SCHEMA,"
        " script_location=SCRIPT_LOCATION)\n"
    )
    runs = [subprocess.Popen([sys.executable, "-c", script, fresh_postgres_dsn]) for _ in range(3)]
    try:
        codes = [run.wait(timeout=120) for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()

    assert codes == [0, 0, 0]
    settings = DatabaseSettings(database_url=fresh_postgres_dsn)
    assert current(settings, schema="scheduling") == HEADS["scheduling"]


def test_threads_of_one_process_may_migrate_at_once(fresh_postgres_dsn: str) -> None:
    settings = DatabaseSettings(database_url=fresh_postgres_dsn)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [
            pool.submit(upgrade, settings, schema=schema, script_location=migrations_of(package)[1])
            for package, schema in SERVICES[:2]
        ]
        for run in runs:
            run.result()

    for _, schema in SERVICES[:2]:
        assert current(settings, schema=schema) == HEADS.get(schema, "0001")


def test_a_new_migration_creates_its_tables_in_the_service_schema(
    fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    _, location = migrations_of("voiceassist_triage")
    scripts = tmp_path / "migrations"
    (scripts / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        (scripts / name).write_text((location / name).read_text())
    first = next((location / "versions").glob("0001_*.py"))
    (scripts / "versions" / first.name).write_text(first.read_text())
    (scripts / "versions" / "0002_sessions.py").write_text(
        '"""Add sessions."""\n'
        "from alembic import op\n"
        'revision = "0002"\n'
        'down_revision = "0001"\n'
        "def upgrade() -> None:\n"
        '    op.execute("CREATE TABLE sessions (id uuid PRIMARY KEY, embedding vector(3))")\n'
        "def downgrade() -> None:\n"
        '    op.execute("DROP TABLE sessions")\n'
    )
    settings = DatabaseSettings(database_url=fresh_postgres_dsn)

    upgrade(settings, schema="triage", script_location=scripts)

    assert tables_in(fresh_postgres_dsn, "triage") == {VERSION_TABLE, "sessions"}
    assert "sessions" not in tables_in(fresh_postgres_dsn, "public")
    assert current(settings, schema="triage") == "0002"


async def test_calling_from_async_code_says_how_to_do_it_instead(postgres_dsn: str) -> None:
    settings = DatabaseSettings(database_url=postgres_dsn)
    _, location = migrations_of("voiceassist_triage")
    with pytest.raises(RuntimeError, match="to_thread"):
        upgrade(settings, schema="triage", script_location=location)
