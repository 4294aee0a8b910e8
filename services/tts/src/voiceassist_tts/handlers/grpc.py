"""gRPC entry point of the tts service: ``TextToSpeechService``.

Its capability, speech synthesis for the voice conversation (issue #6), is not built yet, so
every RPC answers UNIMPLEMENTED naming it (``voiceassist_common.grpc.pending``) rather than
made-up data. The service still starts, reports healthy and exports metrics, so the platform
around it can be built and tested.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from voiceassist.tts.v1 import tts_pb2
from voiceassist_common.grpc.pending import pending_service_handler

SERVICE = tts_pb2.DESCRIPTOR.services_by_name["TextToSpeechService"]
CAPABILITY = "speech synthesis for the voice conversation (issue #6)"


def register(server: grpc.aio.Server) -> Sequence[str]:
    """Add the TextToSpeechService handlers to ``server`` and return the services added."""
    server.add_generic_rpc_handlers((pending_service_handler(SERVICE, CAPABILITY),))
    return (SERVICE.full_name,)
