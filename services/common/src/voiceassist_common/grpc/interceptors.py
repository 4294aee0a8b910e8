"""What every RPC gets, on both ends: a span, RED metrics, a status code, a deadline.

Server side (`RpcServerInterceptor`), for all four call shapes: continue the caller's trace
from the metadata, count and time the call, turn domain errors into status codes (and
unexpected ones into INTERNAL with an error id instead of the exception text), record the
call's deadline so outgoing calls inherit it, and tag log lines with the method.

Client side (`client_interceptors`): a client span whose context travels in the metadata,
the timeout shortened to what the request being handled has left, and client RED metrics.

Health and reflection calls are measured but not traced: probes every few seconds would bury
the traces of real requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from voiceassist_common import metrics
from voiceassist_common.errors import VoiceAssistError
from voiceassist_common.grpc import deadlines
from voiceassist_common.logging import bind_log_context, safe
from voiceassist_common.telemetry import extract_context, inject_context

__all__ = ["RpcMethod", "RpcServerInterceptor", "client_interceptors"]

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    _UnaryUnaryBase = grpc.aio.UnaryUnaryClientInterceptor[Any, Any]
    _UnaryStreamBase = grpc.aio.UnaryStreamClientInterceptor[Any, Any]
    _StreamUnaryBase = grpc.aio.StreamUnaryClientInterceptor[Any, Any]
    _StreamStreamBase = grpc.aio.StreamStreamClientInterceptor[Any, Any]
    _ServerInterceptorBase = grpc.aio.ServerInterceptor[Any, Any]
else:  # at run time these classes are not generic
    _UnaryUnaryBase = grpc.aio.UnaryUnaryClientInterceptor
    _UnaryStreamBase = grpc.aio.UnaryStreamClientInterceptor
    _StreamUnaryBase = grpc.aio.StreamUnaryClientInterceptor
    _StreamStreamBase = grpc.aio.StreamStreamClientInterceptor
    _ServerInterceptorBase = grpc.aio.ServerInterceptor

_UNTRACED_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)

# Codes that mean the server failed rather than the caller (OpenTelemetry RPC conventions);
# only these mark a server span as an error.
_SERVER_FAULTS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)

# A downstream failure the caller can act on (retry, give up) keeps its code; any other
# downstream status is our own bug and becomes INTERNAL.
_PASSED_ON_DOWNSTREAM = {
    grpc.StatusCode.DEADLINE_EXCEEDED: "a service this call depends on did not answer in time",
    grpc.StatusCode.UNAVAILABLE: "a service this call depends on is unavailable",
}


@dataclass(frozen=True)
class RpcMethod:
    """A method as gRPC names it on the wire: ``/package.Service/Method``."""

    path: str
    service: str
    method: str

    @classmethod
    def parse(cls, path: str | bytes) -> RpcMethod:
        """Split a wire path; anything unexpected is kept whole as the service."""
        text = path.decode() if isinstance(path, bytes) else path
        service, _, method = text.lstrip("/").rpartition("/")
        if not service:
            return cls(path=text, service=text, method="")
        return cls(path=text, service=service, method=method)

    @property
    def traced(self) -> bool:
        """Whether calls of this method get spans."""
        return self.service not in _UNTRACED_SERVICES


def _text_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> dict[str, str]:
    """Keep the text entries of gRPC metadata (binary ``-bin`` ones carry no trace context)."""
    return {key: value for key, value in metadata or () if isinstance(value, str)}


class _ServerCall:
    """One RPC being handled: its span, metrics, deadline and, at the end, its status."""

    def __init__(
        self,
        tracer: trace.Tracer,
        method: RpcMethod,
        metadata: Iterable[tuple[str, str | bytes]] | None,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> None:
        self._method = method
        self._context = context
        self._started = time.perf_counter()
        self._finished = False
        # grpc.aio handles every RPC in a task of its own, so what is set here lives exactly
        # as long as this call and is never reset: a streaming handler may be finalised from
        # another task, where resetting a context variable token fails.
        deadlines.start_deadline(context.time_remaining())
        bind_log_context(rpc_method=method.path)
        self._span: trace.Span | None = None
        if method.traced:
            parent = extract_context(_text_metadata(metadata))
            self._span = tracer.start_span(
                method.path,
                context=parent,
                kind=SpanKind.SERVER,
                attributes={
                    "rpc.system": "grpc",
                    "rpc.service": method.service,
                    "rpc.method": method.method,
                },
            )
            otel_context.attach(trace.set_span_in_context(self._span, parent))
        metrics.GRPC_SERVER_IN_FLIGHT.labels(method.service, method.method).inc()

    def succeed(self) -> None:
        """Record a handler that returned; a code it set without aborting still counts."""
        self._finish(self._context.code() or grpc.StatusCode.OK)

    async def fail(self, error: BaseException) -> NoReturn:
        """Record how the call ended and give the caller a status; always raises."""
        if isinstance(error, grpc.aio.AbortError):
            # The handler chose the status itself with context.abort().
            self._finish(self._context.code() or grpc.StatusCode.UNKNOWN)
            raise error
        if isinstance(error, asyncio.CancelledError | GeneratorExit):
            remaining = self._context.time_remaining()
            past_deadline = remaining is not None and remaining <= 0
            code = grpc.StatusCode.DEADLINE_EXCEEDED if past_deadline else grpc.StatusCode.CANCELLED
            self._finish(code)
            raise error
        if not isinstance(error, Exception):
            self._finish(grpc.StatusCode.UNKNOWN)
            raise error
        code, details = self._answer_for(error)
        if self._span is not None:
            # The type only: exception text may hold request data and spans leave the process.
            self._span.set_attribute("error.type", type(error).__qualname__)
        self._finish(code, details)
        await self._context.abort(code, details)
        raise AssertionError("unreachable: abort() raises")  # pragma: no cover

    def _answer_for(self, error: Exception) -> tuple[grpc.StatusCode, str]:
        if isinstance(error, VoiceAssistError):
            return grpc.StatusCode[error.code], error.message
        if isinstance(error, grpc.aio.AioRpcError) and error.code() in _PASSED_ON_DOWNSTREAM:
            logger.warning(
                "%s: a downstream call failed with %s",
                safe(self._method.path),
                safe(error.code().name),
            )
            return error.code(), _PASSED_ON_DOWNSTREAM[error.code()]
        error_id = uuid.uuid4().hex
        # The traceback goes to the log (redacted there); the caller only gets the id to quote.
        logger.error(
            "unexpected error in %s (error id %s)",
            safe(self._method.path),
            safe(error_id),
            exc_info=error,
        )
        return grpc.StatusCode.INTERNAL, f"internal error (error id {error_id})"

    def _finish(self, code: grpc.StatusCode, details: str | None = None) -> None:
        if self._finished:
            return
        self._finished = True
        service, method = self._method.service, self._method.method
        metrics.GRPC_SERVER_IN_FLIGHT.labels(service, method).dec()
        metrics.GRPC_SERVER_DURATION.labels(service, method).observe(
            time.perf_counter() - self._started
        )
        metrics.GRPC_SERVER_REQUESTS.labels(service, method, code.name).inc()
        if self._span is not None:
            self._span.set_attribute("rpc.grpc.status_code", code.value[0])
            if code in _SERVER_FAULTS:
                self._span.set_status(Status(StatusCode.ERROR, details or code.name))
            self._span.end()


_Behaviour = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Any]
_Begin = Callable[[grpc.aio.ServicerContext[Any, Any]], _ServerCall]


def _observe_coroutine(behaviour: _Behaviour, begin: _Begin) -> _Behaviour:
    async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        call = begin(context)
        try:
            response = await behaviour(request, context)
        except BaseException as error:
            await call.fail(error)
        call.succeed()
        return response

    return observed


def _observe_generator(behaviour: _Behaviour, begin: _Begin) -> _Behaviour:
    async def observed(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        call = begin(context)
        try:
            async with contextlib.aclosing(behaviour(request, context)) as responses:
                async for response in responses:
                    yield response
        except BaseException as error:
            await call.fail(error)
        call.succeed()

    return observed


def _observe(handler: grpc.RpcMethodHandler[Any, Any], begin: _Begin) -> Any:
    """Return the same handler with every call observed, whichever of the four shapes."""
    if handler.request_streaming and handler.response_streaming:
        behaviour, make = handler.stream_stream, grpc.stream_stream_rpc_method_handler
    elif handler.request_streaming:
        behaviour, make = handler.stream_unary, grpc.stream_unary_rpc_method_handler
    elif handler.response_streaming:
        behaviour, make = handler.unary_stream, grpc.unary_stream_rpc_method_handler
    else:
        behaviour, make = handler.unary_unary, grpc.unary_unary_rpc_method_handler
    # grpc.aio tells the two streaming styles apart by the function's kind, so the wrapper must
    # be of the same kind: an async generator, or a coroutine using context.write().
    if inspect.isasyncgenfunction(behaviour):
        observed = _observe_generator(behaviour, begin)
    elif inspect.iscoroutinefunction(behaviour):
        observed = _observe_coroutine(behaviour, begin)
    else:
        # Synchronous handlers need a thread pool our servers never configure; grpc.aio
        # rejects them on its own, so there is nothing to observe.
        return handler
    return make(
        observed,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class RpcServerInterceptor(_ServerInterceptorBase):
    """Traces, measures and maps the errors of every RPC a grpc.aio server handles."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        """Wrap the handler gRPC found for this call (none: gRPC answers UNIMPLEMENTED)."""
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = RpcMethod.parse(handler_call_details.method)
        metadata: Any = handler_call_details.invocation_metadata
        tracer = self._tracer

        def begin(context: grpc.aio.ServicerContext[Any, Any]) -> _ServerCall:
            return _ServerCall(tracer, method, metadata, context)

        return _observe(handler, begin)


def _final_code(call: Any) -> grpc.StatusCode:
    """Read the status of a finished client call from a (synchronous) done callback.

    ``code()`` is a coroutine, but once the call is done it returns without suspending, so it
    can be driven by hand here.
    """
    pending = call.code()
    try:
        pending.send(None)
    except StopIteration as finished:
        code: grpc.StatusCode = finished.value
        return code
    finally:
        pending.close()
    return grpc.StatusCode.UNKNOWN


class _ClientCall:
    """One outgoing RPC: its span, the details it is sent with, and its metrics."""

    def __init__(self, tracer: trace.Tracer, details: grpc.aio.ClientCallDetails) -> None:
        self._method = RpcMethod.parse(details.method)
        self._started = time.perf_counter()
        self._finished = False
        metadata = grpc.aio.Metadata(*tuple(details.metadata or ()))
        self._span: trace.Span | None = None
        if self._method.traced:
            self._span = tracer.start_span(
                self._method.path,
                kind=SpanKind.CLIENT,
                attributes={
                    "rpc.system": "grpc",
                    "rpc.service": self._method.service,
                    "rpc.method": self._method.method,
                },
            )
            carrier: dict[str, str] = {}
            inject_context(carrier, trace.set_span_in_context(self._span))
            for key, value in carrier.items():
                metadata[key] = value
        self.details = grpc.aio.ClientCallDetails(
            details.method,
            deadlines.timeout_for_call(details.timeout),
            metadata,
            details.credentials,
            details.wait_for_ready,
        )
        metrics.GRPC_CLIENT_IN_FLIGHT.labels(self._method.service, self._method.method).inc()

    def watch(self, call: Any) -> None:
        """Finish when the call does, whoever consumes it and however it ends."""
        if call.done():
            self.finish(_final_code(call))
        else:
            call.add_done_callback(lambda done: self.finish(_final_code(done)))

    def finish(self, code: grpc.StatusCode) -> None:
        if self._finished:
            return
        self._finished = True
        service, method = self._method.service, self._method.method
        metrics.GRPC_CLIENT_IN_FLIGHT.labels(service, method).dec()
        metrics.GRPC_CLIENT_DURATION.labels(service, method).observe(
            time.perf_counter() - self._started
        )
        metrics.GRPC_CLIENT_REQUESTS.labels(service, method, code.name).inc()
        if self._span is not None:
            self._span.set_attribute("rpc.grpc.status_code", code.value[0])
            if code is not grpc.StatusCode.OK:
                self._span.set_status(Status(StatusCode.ERROR, code.name))
            self._span.end()


class _ClientCalls:
    """Shared by the four client interceptors, which grpc.aio insists be separate objects."""

    def __init__(self, tracer_provider: trace.TracerProvider | None) -> None:
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)

    async def start(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        call = _ClientCall(self._tracer, details)
        try:
            started = await continuation(call.details, request)
        except asyncio.CancelledError:
            call.finish(grpc.StatusCode.CANCELLED)
            raise
        except BaseException:
            call.finish(grpc.StatusCode.UNKNOWN)
            raise
        call.watch(started)
        return started


class _UnaryUnary(_UnaryUnaryBase):
    def __init__(self, calls: _ClientCalls) -> None:
        self._calls = calls

    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: Any, request: Any
    ) -> Any:
        """Start the call with trace context and the propagated deadline, and measure it."""
        return await self._calls.start(continuation, client_call_details, request)


class _UnaryStream(_UnaryStreamBase):
    def __init__(self, calls: _ClientCalls) -> None:
        self._calls = calls

    async def intercept_unary_stream(
        self, continuation: Any, client_call_details: Any, request: Any
    ) -> Any:
        """Start the call with trace context and the propagated deadline, and measure it."""
        return await self._calls.start(continuation, client_call_details, request)


class _StreamUnary(_StreamUnaryBase):
    def __init__(self, calls: _ClientCalls) -> None:
        self._calls = calls

    async def intercept_stream_unary(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        """Start the call with trace context and the propagated deadline, and measure it."""
        return await self._calls.start(continuation, client_call_details, request_iterator)


class _StreamStream(_StreamStreamBase):
    def __init__(self, calls: _ClientCalls) -> None:
        self._calls = calls

    async def intercept_stream_stream(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        """Start the call with trace context and the propagated deadline, and measure it."""
        return await self._calls.start(continuation, client_call_details, request_iterator)


def client_interceptors(tracer_provider: trace.TracerProvider | None = None) -> list[Any]:
    """Interceptors for a grpc.aio channel: trace context, propagated deadline, client metrics.

    Spans go to ``tracer_provider``, or to the process's global provider when None.
    """
    calls = _ClientCalls(tracer_provider)
    return [_UnaryUnary(calls), _UnaryStream(calls), _StreamUnary(calls), _StreamStream(calls)]
