"""gRPC entry point of the admin service: ``AdminService``.

Its capability, the admin panel and analytics (issue #7), is not built yet, so every RPC answers
UNIMPLEMENTED naming it (``voiceassist_common.grpc.pending``) rather than made-up data. The
service still starts, reports healthy and exports metrics, so the platform around it can be
built and tested.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from voiceassist.admin.v1 import admin_pb2
from voiceassist_common.grpc.pending import pending_service_handler

SERVICE = admin_pb2.DESCRIPTOR.services_by_name["AdminService"]
CAPABILITY = "the admin panel and analytics (issue #7)"


def register(server: grpc.aio.Server) -> Sequence[str]:
    """Add the AdminService handlers to ``server`` and return the services added."""
    server.add_generic_rpc_handlers((pending_service_handler(SERVICE, CAPABILITY),))
    return (SERVICE.full_name,)
