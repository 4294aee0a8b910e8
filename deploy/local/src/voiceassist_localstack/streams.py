"""Declaring the platform's JetStream streams before any service publishes to them.

The stream definitions belong to the shared library (voiceassist_common.messaging.streams), next
to the event contracts; the local runtime only applies them once NATS is up.
"""

from __future__ import annotations

from voiceassist_common.messaging.connection import connect
from voiceassist_common.messaging.streams import STREAMS, ensure_streams


async def declare_streams(nats_url: str) -> list[str]:
    """Create or update every stream VoiceAssist declares; return their names."""
    client = await connect(nats_url, name="voiceassist-local")
    try:
        await ensure_streams(client.jetstream(), STREAMS)
    finally:
        await client.close()
    return [spec.name for spec in STREAMS]
