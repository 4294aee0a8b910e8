"""Process start of the gateway: logging, tracing, metrics, then HTTP until SIGTERM.

The gateway serves HTTP (uvicorn), not gRPC, so it does not use the shared gRPC runtime, but
it starts the same way as every other service: settings first (refusing to start on a bad
value), then JSON logging, tracing and the ``/metrics`` endpoint. On SIGTERM uvicorn stops
accepting connections, lets requests in flight finish within SHUTDOWN_GRACE_SECONDS, runs the
app's shutdown (closing downstream channels), and the process exits with status 0.
"""

from __future__ import annotations

import logging
import math
import signal
from types import FrameType

import uvicorn
from voiceassist_common.logging import configure_logging, safe
from voiceassist_common.metrics import record_build_info, start_metrics_server
from voiceassist_common.runtime import service_version
from voiceassist_common.settings import load_settings
from voiceassist_common.telemetry import setup_telemetry

from voiceassist_gateway.config import Settings
from voiceassist_gateway.handlers.http.app import create_app

logger = logging.getLogger(__name__)


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    """Stop the process with status 0 on SIGTERM or SIGINT.

    Uvicorn handles these signals while it serves and, once it has shut down gracefully,
    raises the signal again for the handler that was there before it: this one. Without it
    the default action would kill the process and report the clean stop as a failure. It
    also ends the process quietly if the signal arrives before uvicorn is serving.
    """
    raise SystemExit(0)


def main() -> None:
    """Serve the gateway until SIGTERM or SIGINT."""
    settings = load_settings(Settings)
    configure_logging(settings.service_name, settings.log_level)
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    version = service_version(settings.service_name)
    telemetry = setup_telemetry(settings, version=version)
    try:
        metrics = start_metrics_server(settings.metrics_host, settings.metrics_port)
    except OSError as error:
        logger.error(
            "cannot serve metrics on %s:%s (%s); set METRICS_HOST/METRICS_PORT to a free address",
            safe(settings.metrics_host),
            settings.metrics_port,
            safe(error.strerror or str(error)),
        )
        telemetry.shutdown()
        raise SystemExit(1) from None
    record_build_info(settings.service_name, version)
    app = create_app(settings, tracer_provider=telemetry.tracer_provider)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            lifespan="on",
            # Logging is already configured (JSON, redacted); the access log is written by the
            # app itself with route templates instead of raw paths.
            log_config=None,
            access_log=False,
            # A WebSocket message is buffered whole before the app sees it: cap it near the
            # conversation's own frame limits (64 KiB text, 32 KiB audio) instead of 16 MiB.
            ws_max_size=128 * 1024,
            server_header=False,
            # Whole seconds, at least one: uvicorn reads 0 as "wait for ever".
            timeout_graceful_shutdown=max(1, math.ceil(settings.shutdown_grace_seconds)),
        )
    )
    logger.info(
        "gateway %s serving HTTP on %s:%s, metrics on %s",
        safe(version),
        safe(settings.http_host),
        settings.http_port,
        safe(metrics.url),
    )
    try:
        server.run()
    finally:
        metrics.close()
        telemetry.shutdown()
        logger.info("gateway stopped")
