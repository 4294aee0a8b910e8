"""A service whose capability is not built yet refuses every call and says what is missing."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

import grpc
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.grpc.pending import pending_service_handler
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.testing import answers_to_every_method

CAPABILITY = "the probe engine (issue #99)"


async def test_every_method_in_every_shape_answers_unimplemented_naming_the_capability(
    probe: ModuleType,
) -> None:
    def register(server: grpc.aio.Server) -> Sequence[str]:
        server.add_generic_rpc_handlers((pending_service_handler(probe.SERVICE, CAPABILITY),))
        return (probe.SERVICE_NAME,)

    server = await start_grpc_server("127.0.0.1:0", register)
    try:
        async with create_channel(f"127.0.0.1:{server.port}") as channel:
            answers = await answers_to_every_method(channel, probe.SERVICE)
    finally:
        await server.stop(0)

    # Echo is unary, Expand server-streaming, Collect client-streaming, Chat bidirectional.
    assert answers == {
        shape: (
            "UNIMPLEMENTED",
            f"{probe.SERVICE_NAME}/{shape} is not available yet: {CAPABILITY} is not built",
        )
        for shape in ("Echo", "Expand", "Collect", "Chat")
    }
