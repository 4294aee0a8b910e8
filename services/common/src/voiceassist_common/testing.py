"""What every service's tests check, written once.

Every service must start as a real process, report healthy, list its services through
reflection, export ``voiceassist_`` metrics and stop cleanly on SIGTERM; a service whose
capability is not built yet must refuse every RPC naming what is missing. `service_process`
runs ``python -m voiceassist_<svc>`` on free loopback ports and `assert_pending_service`
checks the rest, so a service's test file says only what differs. A table owner's store tests
get a throwaway database with its schema migrated from `migrated_database`, and a pool confined
to that schema from `MigratedDatabase.pool`. Nothing here imports pytest: failures are plain
AssertionErrors with the process's log attached.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from voiceassist_common.grpc.client import create_channel

if TYPE_CHECKING:
    import asyncpg

__all__ = [
    "DatabaseServer",
    "MigratedDatabase",
    "ServiceProcess",
    "answers_to_every_method",
    "assert_migrate_creates_schema",
    "assert_pending_service",
    "free_port",
    "health_status",
    "migrated_database",
    "reflected_services",
    "sample_value",
    "scrape_metrics",
    "service_process",
]

# Nine services may be starting at once on a small machine; a slow start is not a failure.
_STARTUP_SECONDS = 60.0
_STOP_SECONDS = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


async def health_status(channel: grpc.aio.Channel, service: str = "", seconds: float = 5) -> str:
    """Ask the standard health service; ``SERVING``, ``NOT_SERVING``, ... (raises if unknown)."""
    reply = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=seconds
    )
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def reflected_services(channel: grpc.aio.Channel) -> set[str]:
    """List the services the server names through reflection."""
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
        iter([request]), timeout=5
    )
    async for reply in call:
        return {service.name for service in reply.list_services_response.service}
    raise AssertionError("reflection answered nothing")


async def _answer(channel: grpc.aio.Channel, method: MethodDescriptor) -> tuple[str, str]:
    """Call ``method`` in its own shape with an empty message; return (status, details)."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    # No serializers: an empty message is zero bytes, whatever its type.
    call: Any
    if method.client_streaming and method.server_streaming:
        call = channel.stream_stream(path, None, None)(iter([b""]), timeout=5)
    elif method.client_streaming:
        call = channel.stream_unary(path, None, None)(iter([b""]), timeout=5)
    elif method.server_streaming:
        call = channel.unary_stream(path, None, None)(b"", timeout=5)
    else:
        call = channel.unary_unary(path, None, None)(b"", timeout=5)
    try:
        if method.server_streaming:
            async for _ in call:
                pass
        else:
            await call
    except grpc.aio.AioRpcError as error:
        return error.code().name, error.details() or ""
    return "OK", ""


# grpc.aio clients sometimes replace the status of a client-streaming call that the server
# ended early with this one of their own (grpc/grpc#36066); the server did answer correctly.
_CLIENT_WRITE_RACE = ("INTERNAL", "Internal error from Core")


async def answers_to_every_method(
    channel: grpc.aio.Channel, service: ServiceDescriptor
) -> dict[str, tuple[str, str]]:
    """Call every method of ``service``; map method name to (status name, details)."""
    answers = {}
    for method in service.methods:
        answer = await _answer(channel, method)
        for _ in range(5):
            if not (method.client_streaming and answer == _CLIENT_WRITE_RACE):
                break
            answer = await _answer(channel, method)
        answers[method.name] = answer
    return answers


@dataclass
class ServiceProcess:
    """A service running as its own process on loopback ports."""

    process: asyncio.subprocess.Process
    grpc_address: str
    metrics_port: int
    log_path: Path
    _kept_log: str | None = None

    def log(self) -> str:
        """Everything the process wrote on stderr (its JSON log lines), also after it ended."""
        if self._kept_log is not None:
            return self._kept_log
        # Read through a file object of our own: the child's shares one offset with `log`.
        return self.log_path.read_text(errors="replace")

    async def terminate(self) -> int:
        """Send SIGTERM and wait (up to `_STOP_SECONDS`) for the exit status."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(_STOP_SECONDS):
            return await self.process.wait()

    async def wait_until_serving(self, seconds: float = _STARTUP_SECONDS) -> None:
        """Return once health says SERVING; fail with the log if the process dies or stalls."""
        deadline = time.monotonic() + seconds
        async with create_channel(self.grpc_address) as channel:
            while True:
                if self.process.returncode is not None:
                    raise AssertionError(
                        f"the service exited with status {self.process.returncode}:\n{self.log()}"
                    )
                try:
                    if await health_status(channel, seconds=1) == "SERVING":
                        return
                except grpc.aio.AioRpcError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"not SERVING after {seconds} s:\n{self.log()}")
                await asyncio.sleep(0.1)


async def scrape_metrics(service: ServiceProcess) -> str:
    """Fetch the process's ``/metrics`` page."""

    def fetch() -> str:
        connection = http.client.HTTPConnection("127.0.0.1", service.metrics_port, timeout=5)
        try:
            connection.request("GET", "/metrics")
            response = connection.getresponse()
            if response.status != 200:
                raise AssertionError(f"/metrics answered HTTP {response.status}")
            return response.read().decode()
        finally:
            connection.close()

    return await asyncio.to_thread(fetch)


def sample_value(exposition: str, name: str, **labels: str) -> float | None:
    """Return the value of sample ``name`` with exactly ``labels`` in a /metrics page, if any."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


@asynccontextmanager
async def service_process(
    module: str, *, env: Mapping[str, str] | None = None, args: tuple[str, ...] = ()
) -> AsyncIterator[ServiceProcess]:
    """Run ``python -m module`` on free loopback ports until it is SERVING, then yield it.

    On leaving the block the process gets SIGTERM and must exit with status 0 within
    `_STOP_SECONDS` (unless the block already stopped it); it is killed if anything fails.
    """
    grpc_port, metrics_port = free_port(), free_port()
    environment = {
        **os.environ,
        "VOICEASSIST_ENV": "test",
        "GRPC_HOST": "127.0.0.1",
        "GRPC_PORT": str(grpc_port),
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": str(metrics_port),
        **(env or {}),
    }
    environment.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    with tempfile.NamedTemporaryFile(prefix=f"{module}-", suffix=".log") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        service = ServiceProcess(process, f"127.0.0.1:{grpc_port}", metrics_port, Path(log.name))
        try:
            await service.wait_until_serving()
            yield service
            if process.returncode is None:
                status = await service.terminate()
                if status != 0:
                    raise AssertionError(f"exit status {status} after SIGTERM:\n{service.log()}")
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            service._kept_log = service.log()  # the file goes when the block ends


async def assert_pending_service(
    service: ServiceProcess, descriptor: ServiceDescriptor, capability: str
) -> None:
    """Check a service whose capability is not built: healthy, listed, refusing, measured."""
    name = descriptor.full_name
    async with create_channel(service.grpc_address) as channel:
        health = (await health_status(channel), await health_status(channel, name))
        if health != ("SERVING", "SERVING"):
            raise AssertionError(f"health of '' and {name}: {health}")
        listed = await reflected_services(channel)
        if not {name, "grpc.health.v1.Health"} <= listed:
            raise AssertionError(f"reflection lists {sorted(listed)}, not {name} and health")
        answers = await answers_to_every_method(channel, descriptor)
    wrong = {
        method: answer
        for method, answer in answers.items()
        if answer
        != ("UNIMPLEMENTED", f"{name}/{method} is not available yet: {capability} is not built")
    }
    if not answers or wrong:
        raise AssertionError(f"methods not refused naming {capability!r}: {wrong}")
    # A status the handler aborted with reaches the caller a moment before the server's
    # interceptor counts it, so the page is read again until the counts arrive.
    for _ in range(50):
        exposition = await scrape_metrics(service)
        uncounted = {
            method: counted
            for method in answers
            if (counted := _count_of(exposition, name, method, "UNIMPLEMENTED")) != 1
        }
        if not uncounted:
            break
        await asyncio.sleep(0.1)
    if uncounted:
        raise AssertionError(f"UNIMPLEMENTED answers of {name} counted as {uncounted}")
    if not any(
        family.name == "voiceassist_build_info" and family.samples
        for family in text_string_to_metric_families(exposition)
    ):
        raise AssertionError("/metrics lacks voiceassist_build_info")


def _count_of(exposition: str, service: str, method: str, code: str) -> float | None:
    labels = {"service": service, "method": method, "code": code}
    return sample_value(exposition, "voiceassist_grpc_server_requests_total", **labels)


async def _migrate(module: str, dsn: str) -> tuple[int, str]:
    """Run ``python -m <module> migrate`` against ``dsn``; return its exit code and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        "migrate",
        env={**os.environ, "DATABASE_URL": dsn, "VOICEASSIST_ENV": "test"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(120):
            _, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return (-1 if process.returncode is None else process.returncode), stderr.decode()


async def assert_migrate_creates_schema(module: str, schema: str, dsn: str) -> None:
    """Check a table owner's ``migrate`` command creates its schema and can run again."""
    import asyncpg  # only table owners' tests get here; asyncpg is the [db] extra

    first = await _migrate(module, dsn)
    again = await _migrate(module, dsn)
    for code, stderr in (first, again):
        if code != 0:
            raise AssertionError(f"{module} migrate exited {code}:\n{stderr}")
    connection = await asyncpg.connect(dsn)
    try:
        found = await connection.fetchval(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema
        )
    finally:
        await connection.close()
    if found != 1:
        raise AssertionError(f"schema {schema} missing after {module} migrate")


class DatabaseServer(Protocol):
    """A PostgreSQL server tests may create databases on (voiceassist_localstack's embedded one)."""

    def create_database(self, name: str) -> str:
        """Create database ``name`` owned by the application role; return its DSN."""
        ...

    def execute(self, sql: str, database: str | None = None) -> str:
        """Run ``sql`` as the superuser in ``database``."""
        ...


@dataclass(frozen=True)
class MigratedDatabase:
    """A throwaway database holding one table owner's schema, migrated to head."""

    dsn: str
    schema: str

    @asynccontextmanager
    async def pool(
        self, application_name: str, *, reset: str = "", max_size: int = 2
    ) -> AsyncIterator[asyncpg.Pool[asyncpg.Record]]:
        """Open a pool confined to the schema, as the service opens its own; close it after.

        ``reset`` is SQL run once the pool is open (a TRUNCATE), so each test starts from
        empty tables while the migrations run only once.
        """
        # Only table owners' tests get here; the database stack is the [db] extra.
        from voiceassist_common.db import create_pool
        from voiceassist_common.settings import DatabaseSettings

        settings = DatabaseSettings(
            database_url=self.dsn, db_pool_min_size=1, db_pool_max_size=max_size
        )
        pool = await create_pool(settings, schema=self.schema, application_name=application_name)
        try:
            if reset:
                await pool.execute(reset)
            yield pool
        finally:
            await pool.close()


@contextmanager
def migrated_database(
    server: DatabaseServer, *, schema: str, script_location: str | Path
) -> Iterator[MigratedDatabase]:
    """Create a database on ``server`` with ``schema`` migrated to head; drop it on leaving."""
    from voiceassist_common.db import upgrade
    from voiceassist_common.settings import DatabaseSettings

    name = f"test_{schema}_{secrets.token_hex(6)}"
    dsn = server.create_database(name)
    try:
        # upgrade() runs its own event loop, and a fixture may be set up inside a test's.
        with ThreadPoolExecutor(max_workers=1) as thread:
            settings = DatabaseSettings(database_url=dsn)
            thread.submit(
                upgrade, settings, schema=schema, script_location=script_location
            ).result()
        yield MigratedDatabase(dsn=dsn, schema=schema)
    finally:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);', "postgres")
