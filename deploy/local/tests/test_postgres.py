import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from voiceassist_localstack.ports import free_port
from voiceassist_localstack.postgres import EmbeddedPostgres, PostgresError, _socket_dir_for
from voiceassist_localstack.processes import is_alive

pytestmark = pytest.mark.integration


@pytest.fixture
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="va-pgt-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def own_cluster(scratch: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(scratch / "postgres", port=free_port(), durable=False)
    yield server
    server.stop()


async def test_app_role_connects_over_tcp_and_has_pgvector(postgres_dsn: str) -> None:
    connection = await asyncpg.connect(postgres_dsn)
    try:
        distance = await connection.fetchval("SELECT '[1,2,3]'::vector <-> '[1,2,5]'::vector")
        user = await connection.fetchval("SELECT current_user")
        version = await connection.fetchval("SHOW server_version_num")
    finally:
        await connection.close()
    assert distance == 2.0
    assert user == "voiceassist"
    assert version.startswith("18")


async def test_wrong_password_is_refused(postgres_server: EmbeddedPostgres) -> None:
    bad = postgres_server.dsn.replace(":voiceassist@", ":wrong@")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(bad)


def test_server_runs_as_an_unprivileged_account(postgres_server: EmbeddedPostgres) -> None:
    pid = postgres_server.pid
    assert pid is not None
    assert os.stat(f"/proc/{pid}").st_uid != 0


async def test_fresh_database_starts_empty(fresh_postgres_dsn: str, postgres_dsn: str) -> None:
    assert fresh_postgres_dsn != postgres_dsn
    connection = await asyncpg.connect(fresh_postgres_dsn)
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        await connection.execute("CREATE SCHEMA triage")
    finally:
        await connection.close()
    assert tables == 0


async def test_data_survives_a_restart_without_reinitialising(
    own_cluster: EmbeddedPostgres,
) -> None:
    own_cluster.start()
    system_id = own_cluster.execute("SELECT system_identifier FROM pg_control_system()")
    connection = await asyncpg.connect(own_cluster.dsn)
    await connection.execute("CREATE TABLE visit (caller text)")
    await connection.execute("INSERT INTO visit VALUES ('kept')")
    await connection.close()

    own_cluster.stop()
    assert not own_cluster.is_running()
    own_cluster.start()

    connection = await asyncpg.connect(own_cluster.dsn)
    try:
        assert await connection.fetchval("SELECT caller FROM visit") == "kept"
    finally:
        await connection.close()
    assert own_cluster.execute("SELECT system_identifier FROM pg_control_system()") == system_id


def test_starting_twice_reuses_the_running_server(own_cluster: EmbeddedPostgres) -> None:
    own_cluster.start()
    first_pid = own_cluster.pid
    own_cluster.start()
    assert own_cluster.pid == first_pid


def test_stop_leaves_no_server_behind(own_cluster: EmbeddedPostgres) -> None:
    own_cluster.start()
    pid = own_cluster.pid
    assert pid is not None
    own_cluster.stop()
    assert not is_alive(pid)
    own_cluster.stop()


def test_a_running_cluster_on_another_port_is_reported(own_cluster: EmbeddedPostgres) -> None:
    own_cluster.start()
    elsewhere = EmbeddedPostgres(own_cluster.data_dir, port=free_port(), durable=False)
    with pytest.raises(PostgresError, match="already runs"):
        elsewhere.start()


def test_refuses_to_initialise_over_foreign_files(scratch: Path) -> None:
    data_dir = scratch / "postgres"
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("not a database")
    server = EmbeddedPostgres(data_dir, port=free_port())
    with pytest.raises(PostgresError, match="refusing"):
        server.start()
    assert (data_dir / "notes.txt").exists()


def test_socket_directory_falls_back_to_a_short_path_when_too_long() -> None:
    short = _socket_dir_for(Path("/work/main/.data/postgres"))
    long = _socket_dir_for(Path("/" + "deep/" * 25 + "postgres"))
    assert short == Path("/work/main/.data/postgres-socket")
    assert len(str(long)) < 60
    assert long == _socket_dir_for(Path("/" + "deep/" * 25 + "postgres"))
