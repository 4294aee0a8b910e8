"""Answers for a service whose capability a later issue builds.

Such a service still starts, reports healthy and exports metrics, so the platform around it can
be built and tested; every RPC answers UNIMPLEMENTED and names what is missing. It never
returns made-up data that a caller might take for a real answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from voiceassist_common.errors import CapabilityNotBuilt

__all__ = ["pending_service_handler"]


def _pending_method(method: MethodDescriptor, capability: str) -> grpc.RpcMethodHandler[Any, Any]:
    """Build a handler of the method's own shape that refuses with UNIMPLEMENTED."""
    operation = f"{method.containing_service.full_name}/{method.name}"
    error = CapabilityNotBuilt(capability, operation=operation)

    async def refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, error.message)

    async def refuse_stream(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, error.message)
        yield  # pragma: no cover - makes this an async generator, as streaming handlers are

    # Requests are never read, so they are not decoded: no deserializer, raw bytes.
    if method.client_streaming and method.server_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse_stream)
    if method.client_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse)
    if method.server_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse_stream)
    return grpc.unary_unary_rpc_method_handler(refuse)


def pending_service_handler(
    service_descriptor: ServiceDescriptor, capability: str
) -> grpc.GenericRpcHandler[Any, Any]:
    """Answer every method of ``service_descriptor`` with UNIMPLEMENTED naming ``capability``.

    ``capability`` reads as a noun phrase after "is not available yet:", for example
    ``"the triage engine (issue #3)"``.

    Client-streaming calls are refused at once, without waiting for the client to finish
    sending: a client streaming live audio may never finish. A grpc.aio client still writing
    when the answer arrives may then report INTERNAL "Internal error from Core" instead of the
    answer (grpc/grpc#36066, a client-side bug); other clients, grpcurl included, see it.
    """
    handlers = {
        method.name: _pending_method(method, capability) for method in service_descriptor.methods
    }
    return grpc.method_handlers_generic_handler(service_descriptor.full_name, handlers)
