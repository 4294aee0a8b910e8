"""gRPC entry point of the scheduling service: ``SchedulingService``.

Its capability, scheduling and doctor matching (issue #5), is not built yet, so every RPC
answers UNIMPLEMENTED naming it (``voiceassist_common.grpc.pending``) rather than made-up data.
The service still starts, reports healthy and exports metrics, so the platform around it can be
built and tested.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from voiceassist.scheduling.v1 import scheduling_pb2
from voiceassist_common.grpc.pending import pending_service_handler

SERVICE = scheduling_pb2.DESCRIPTOR.services_by_name["SchedulingService"]
CAPABILITY = "scheduling and doctor matching (issue #5)"


def register(server: grpc.aio.Server) -> Sequence[str]:
    """Add the SchedulingService handlers to ``server`` and return the services added."""
    server.add_generic_rpc_handlers((pending_service_handler(SERVICE, CAPABILITY),))
    return (SERVICE.full_name,)
