"""gRPC entry point of the auth service: ``AuthService``.

Its capability, identity and access (the built-in OIDC provider, users, MFA and audit; issue
#4), is not built yet, so every RPC answers UNIMPLEMENTED naming it
(``voiceassist_common.grpc.pending``) rather than made-up data. The service still starts,
reports healthy and exports metrics, so the platform around it can be built and tested.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from voiceassist.auth.v1 import auth_pb2
from voiceassist_common.grpc.pending import pending_service_handler

SERVICE = auth_pb2.DESCRIPTOR.services_by_name["AuthService"]
CAPABILITY = "identity and access (the built-in OIDC provider, users, MFA and audit; issue #4)"


def register(server: grpc.aio.Server) -> Sequence[str]:
    """Add the AuthService handlers to ``server`` and return the services added."""
    server.add_generic_rpc_handlers((pending_service_handler(SERVICE, CAPABILITY),))
    return (SERVICE.full_name,)
