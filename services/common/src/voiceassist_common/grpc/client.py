"""Channels from one VoiceAssist service to another.

Every outgoing call should carry the trace, respect the deadline of the request being handled
and show up in client metrics; a channel from `create_channel` does all three, so callers never
wire interceptors by hand.
"""

from __future__ import annotations

import grpc
from opentelemetry import trace

from voiceassist_common.grpc.interceptors import client_interceptors

__all__ = ["create_channel"]

# Keepalive pings find a peer that vanished without closing the connection (a killed pod)
# before the next call waits on it; services restart often enough in development to matter.
_CHANNEL_OPTIONS = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
)


def create_channel(
    target: str, *, tracer_provider: trace.TracerProvider | None = None
) -> grpc.aio.Channel:
    """Open a channel to ``target`` (``host:port``) with VoiceAssist's client interceptors.

    The traffic is plaintext: services talk on a private network, and transport security
    between them is the deployment's job (service mesh), not each process's.
    """
    return grpc.aio.insecure_channel(
        target,
        options=_CHANNEL_OPTIONS,
        interceptors=client_interceptors(tracer_provider),
    )
