"""The life of a service process, from start to a clean exit on SIGTERM.

Every service's ``main`` hands its settings and the function that registers its handlers to
`run_service`; everything else a process needs (logging, tracing, the metrics endpoint, the
gRPC server with health and reflection, graceful shutdown) happens the same way everywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence

from voiceassist_common.grpc.server import (
    GrpcServer,
    Register,
    listen_address,
    start_grpc_server,
)
from voiceassist_common.logging import configure_logging, safe
from voiceassist_common.metrics import record_build_info, start_metrics_server
from voiceassist_common.settings import ServiceSettings
from voiceassist_common.telemetry import setup_telemetry

__all__ = ["Hook", "StartupError", "read_command", "run_service", "serve", "service_version"]

logger = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StartupError(Exception):
    """The process cannot start (a port is taken); the message says what to change."""


def service_version(service_name: str) -> str:
    """Return the installed version of the service's distribution (``voiceassist-<name>``)."""
    try:
        return importlib.metadata.version(f"voiceassist-{service_name}")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def read_command(argv: Sequence[str] | None, *, prog: str, migrates: bool) -> str:
    """Read a service's command line: ``serve`` (the default) or, for table owners, ``migrate``.

    Exits with usage on an unknown command, before any setting is read.
    """
    parser = argparse.ArgumentParser(prog=prog, description=f"Run the VoiceAssist {prog} service.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="serve gRPC until SIGTERM (the default)")
    if migrates:
        commands.add_parser("migrate", help="apply the service's database migrations and exit")
    command: str | None = parser.parse_args(argv).command
    return command or "serve"


def run_service(
    settings: ServiceSettings,
    *,
    register: Register,
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully and return (exit status 0).

    Exits with status 1 and a log line naming the setting to change when a port is taken.
    """
    configure_logging(settings.service_name, settings.log_level)
    try:
        asyncio.run(
            serve(settings, register=register, on_startup=on_startup, on_shutdown=on_shutdown)
        )
    except StartupError as error:
        logger.error("%s", safe(str(error)))
        raise SystemExit(1) from None


async def serve(
    settings: ServiceSettings,
    *,
    register: Register,
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (or, when no event is given, until SIGTERM/SIGINT).

    Order: telemetry and metrics, then ``on_startup`` (open pools, connect to NATS), then
    ``register`` and the gRPC server, so handlers can use what ``on_startup`` opened. On the
    way out: health NOT_SERVING, in-flight calls get ``shutdown_grace_seconds``, then
    ``on_shutdown``, and buffered spans are flushed.
    """
    version = service_version(settings.service_name)
    telemetry = setup_telemetry(settings, version=version)
    try:
        metrics_server = start_metrics_server(settings.metrics_host, settings.metrics_port)
    except OSError as error:
        telemetry.shutdown()
        raise StartupError(
            f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port} "
            f"({error.strerror or error}); set METRICS_HOST/METRICS_PORT to a free address"
        ) from None
    record_build_info(settings.service_name, version)
    loop = asyncio.get_running_loop()
    stopping = stop if stop is not None else asyncio.Event()
    if stop is None:
        for signum in _STOP_SIGNALS:
            loop.add_signal_handler(signum, _request_stop, stopping, signum)
    started = False
    server: GrpcServer | None = None
    try:
        if on_startup is not None:
            await on_startup()
        started = True
        address = listen_address(settings.grpc_host, settings.grpc_port)
        try:
            server = await start_grpc_server(
                address, register, tracer_provider=telemetry.tracer_provider
            )
        except OSError as error:
            raise StartupError(f"{error}; set GRPC_HOST/GRPC_PORT to a free address") from None
        logger.info(
            "%s %s serving gRPC on %s (%s), metrics on %s",
            safe(settings.service_name),
            safe(version),
            safe(address),
            safe(", ".join(server.services)),
            safe(metrics_server.url),
            extra={"grpc_port": server.port, "metrics_port": metrics_server.port},
        )
        await stopping.wait()
        logger.info(
            "shutting down: health NOT_SERVING, in-flight calls get %s s",
            settings.shutdown_grace_seconds,
        )
        await server.stop(settings.shutdown_grace_seconds)
        server = None
    finally:
        if server is not None:
            # Leaving early (cancelled, or an error while serving): stop at once.
            await server.stop(0)
        if stop is None:
            for signum in _STOP_SIGNALS:
                loop.remove_signal_handler(signum)
        try:
            if started and on_shutdown is not None:
                await on_shutdown()
        finally:
            metrics_server.close()
            telemetry.shutdown()
    logger.info("%s stopped", safe(settings.service_name))


def _request_stop(stopping: asyncio.Event, signum: signal.Signals) -> None:
    if not stopping.is_set():
        logger.info("received %s", safe(signum.name))
    stopping.set()
