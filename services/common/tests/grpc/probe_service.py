"""A small gRPC service with all four call shapes, for testing the server plumbing.

Each request's text says what the handler should do ("fail NotFound", "sleep 1.5", "relay
127.0.0.1:50000", ...), so one service exercises every path of the interceptors. Run as a
script it is a real service process (settings from the environment), which the runtime tests
stop with SIGTERM.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, wrappers_pb2
from opentelemetry import trace
from voiceassist_common import errors
from voiceassist_common.grpc.client import create_channel

StringValue = wrappers_pb2.StringValue


def _define_service() -> Any:
    """Add the probe's .proto to the default pool, as generated code would, for reflection."""
    pool = descriptor_pool.Default()
    try:
        return pool.FindServiceByName("voiceassist.probe.v1.ProbeService")
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto(
        name="voiceassist/probe/v1/probe.proto",
        package="voiceassist.probe.v1",
        dependency=["google/protobuf/wrappers.proto"],
        syntax="proto3",
    )
    service = proto.service.add(name="ProbeService")
    shapes = {"Echo": (False, False), "Expand": (False, True), "Collect": (True, False)}
    shapes["Chat"] = (True, True)
    for name, (client_streaming, server_streaming) in shapes.items():
        service.method.add(
            name=name,
            input_type=".google.protobuf.StringValue",
            output_type=".google.protobuf.StringValue",
            client_streaming=client_streaming,
            server_streaming=server_streaming,
        )
    pool.AddSerializedFile(proto.SerializeToString())
    return pool.FindServiceByName("voiceassist.probe.v1.ProbeService")


SERVICE = _define_service()
SERVICE_NAME: str = SERVICE.full_name
PATIENT_DETAILS = "Jane Doe, born 1950-02-03, phone 555-0100"


class Probe:
    """Handlers of the probe service; ``tracer_provider`` is used for relayed calls."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer_provider = tracer_provider

    def register(self, server: grpc.aio.Server) -> Sequence[str]:
        def handler(make: Any, behaviour: Any) -> Any:
            return make(
                behaviour,
                request_deserializer=StringValue.FromString,
                response_serializer=StringValue.SerializeToString,
            )

        handlers = {
            "Echo": handler(grpc.unary_unary_rpc_method_handler, self.echo),
            "Expand": handler(grpc.unary_stream_rpc_method_handler, self.expand),
            "Collect": handler(grpc.stream_unary_rpc_method_handler, self.collect),
            "Chat": handler(grpc.stream_stream_rpc_method_handler, self.chat),
        }
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),)
        )
        return (SERVICE_NAME,)

    async def act(self, text: str, context: grpc.aio.ServicerContext[Any, Any]) -> str:
        command, _, argument = text.partition(" ")
        if command == "fail":
            error_type = getattr(errors, argument)
            if error_type is errors.CapabilityNotBuilt:
                raise errors.CapabilityNotBuilt("the probe capability (issue #99)")
            raise error_type(f"probe asked for {argument}")
        if command == "crash":
            raise RuntimeError(PATIENT_DETAILS)
        if command == "abort":
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, "aborted by the handler")
        if command == "sleep":
            await asyncio.sleep(float(argument))
            return "slept"
        if command == "deadline":
            return repr(context.time_remaining())
        if command == "header":
            return str(dict(context.invocation_metadata() or ()).get(argument, ""))
        if command == "trace":
            return format(trace.get_current_span().get_span_context().trace_id, "032x")
        if command == "relay":
            target, _, relayed = argument.partition(" ")
            async with create_channel(target, tracer_provider=self._tracer_provider) as channel:
                reply = await ProbeStub(channel).echo(relayed, seconds=30)
            return reply
        return text

    async def echo(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        return StringValue(value=await self.act(request.value, context))

    async def expand(
        self, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        yield StringValue(value="first")
        yield StringValue(value=await self.act(request.value, context))

    async def collect(self, requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        replies = [await self.act(request.value, context) async for request in requests]
        return StringValue(value=",".join(replies))

    async def chat(self, requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        # The reader/writer style, the other way grpc.aio streams responses.
        while True:
            request = await context.read()
            if request is grpc.aio.EOF:  # type: ignore[attr-defined]  # missing from grpc-stubs
                return
            await context.write(StringValue(value=await self.act(request.value, context)))


class ProbeStub:
    """Calls the probe service in each of its four shapes."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        def path(method: str) -> str:
            return f"/{SERVICE_NAME}/{method}"

        serial: Any = {
            "request_serializer": StringValue.SerializeToString,
            "response_deserializer": StringValue.FromString,
        }
        self._echo = channel.unary_unary(path("Echo"), **serial)
        self._expand = channel.unary_stream(path("Expand"), **serial)
        self._collect = channel.stream_unary(path("Collect"), **serial)
        self._chat = channel.stream_stream(path("Chat"), **serial)

    async def echo(self, text: str, seconds: float | None = None) -> str:
        reply = await self._echo(StringValue(value=text), timeout=seconds)
        return str(reply.value)

    async def expand(self, text: str) -> list[str]:
        return [reply.value async for reply in self._expand(StringValue(value=text))]

    async def collect(self, *texts: str) -> str:
        reply = await self._collect(iter([StringValue(value=text) for text in texts]))
        return str(reply.value)

    async def chat(self, *texts: str) -> list[str]:
        call = self._chat(iter([StringValue(value=text) for text in texts]))
        return [reply.value async for reply in call]


if __name__ == "__main__":
    from voiceassist_common.runtime import run_service
    from voiceassist_common.settings import ServiceSettings, load_settings

    run_service(load_settings(ServiceSettings, service_name="probe"), register=Probe().register)
