"""gRPC entry point of the medical-kb service: ``MedicalKnowledgeService``.

Its capability, the medical knowledge base (RAG and calculators), is not built yet, so every RPC
answers UNIMPLEMENTED naming it (``voiceassist_common.grpc.pending``) rather than made-up data.
The service still starts, reports healthy and exports metrics, so the platform around it can be
built and tested.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from voiceassist.medical_kb.v1 import medical_kb_pb2
from voiceassist_common.grpc.pending import pending_service_handler

SERVICE = medical_kb_pb2.DESCRIPTOR.services_by_name["MedicalKnowledgeService"]
CAPABILITY = "the medical knowledge base (RAG and calculators)"


def register(server: grpc.aio.Server) -> Sequence[str]:
    """Add the MedicalKnowledgeService handlers to ``server`` and return the services added."""
    server.add_generic_rpc_handlers((pending_service_handler(SERVICE, CAPABILITY),))
    return (SERVICE.full_name,)
