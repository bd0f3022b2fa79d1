"""gRPC server plumbing: the error-mapping and metrics interceptor, the server.

Handlers raise the domain errors of `switchyard.errors`; `ErrorInterceptor`
is the one place that turns them into gRPC statuses (the field named in
trailing metadata), and turns anything unexpected into INTERNAL with a
correlation id that is also in the log line, never a traceback.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from prometheus_client import Counter, Histogram

from switchyard.core import audit
from switchyard.core.transient import UNAVAILABLE
from switchyard.errors import SwitchyardError, trailing_metadata

log = logging.getLogger(__name__)

RPC_TOTAL = Counter("switchyard_rpc_total", "RPCs handled", ["method", "code"])
RPC_SECONDS = Histogram(
    "switchyard_rpc_duration_seconds",
    "RPC handling time",
    ["method", "code"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Maps domain errors to statuses and records RPC count and latency."""

    def __init__(self) -> None:
        # method -> (the servicer's handler, its wrapped twin): wrapping once,
        # not per call, since grpc hands back the same handler every time.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method
        audit.begin(method)  # the handler runs in this task: its writes name the call
        seen = self._wrapped.get(method)
        if seen is not None and seen[0] is handler:
            return seen[1]
        wrapped = self._wrap_handler(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap_handler(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._wrap(method, handler.stream_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(
                self._wrap_stream(method, handler.stream_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # unary-stream: none yet

    def _wrap(self, method: str, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            start = time.perf_counter()
            code = grpc.StatusCode.OK
            _name_peer(context)
            try:
                return await behavior(request, context)
            except Exception as exc:
                code = _code_of(exc, context)
                await _fail(method, context, exc)
            finally:
                _observe(method, code, start)

        return call

    def _wrap_stream(
        self, method: str, behavior: Callable[..., AsyncIterator[Any]]
    ) -> Callable[..., AsyncIterator[Any]]:
        async def call(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            start = time.perf_counter()
            code = grpc.StatusCode.OK
            _name_peer(context)
            try:
                async for response in behavior(requests, context):
                    yield response
            except Exception as exc:
                code = _code_of(exc, context)
                await _fail(method, context, exc)
            finally:
                _observe(method, code, start)

        return call


def _observe(method: str, code: grpc.StatusCode, start: float) -> None:
    RPC_TOTAL.labels(method, code.name).inc()
    RPC_SECONDS.labels(method, code.name).observe(time.perf_counter() - start)


def _name_peer(context: grpc.aio.ServicerContext) -> None:
    call = audit.CALL.get()
    if call is not None:
        call.context = context  # for the caller's address, read if it writes


def _code_of(exc: Exception, context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    if isinstance(exc, SwitchyardError):
        return exc.code
    if isinstance(exc, grpc.aio.AbortError):
        return context.code() or grpc.StatusCode.UNKNOWN  # type: ignore[return-value]
    return grpc.StatusCode.UNAVAILABLE if isinstance(exc, UNAVAILABLE) else grpc.StatusCode.INTERNAL


async def _fail(method: str, context: grpc.aio.ServicerContext, exc: Exception) -> None:
    """End the call with `exc` as its status (abort raises); an abort passes through."""
    if isinstance(exc, SwitchyardError):
        context.set_trailing_metadata(trailing_metadata(exc))
        await context.abort(exc.code, exc.message)
    if isinstance(exc, grpc.aio.AbortError):
        raise exc
    if isinstance(exc, UNAVAILABLE):
        log.warning("dependency unavailable", extra={"method": method, "error": repr(exc)})
        await context.abort(
            grpc.StatusCode.UNAVAILABLE, f"unavailable, try again: {type(exc).__name__}: {exc}"
        )
    correlation = uuid.uuid4().hex[:12]
    log.exception("unhandled error", extra={"method": method, "correlation_id": correlation})
    message = f"internal error (correlation id {correlation})"
    # In metadata too, for the SDK's `.correlation_id`.
    internal = SwitchyardError(message, correlation_id=correlation)
    context.set_trailing_metadata(trailing_metadata(internal))
    await context.abort(grpc.StatusCode.INTERNAL, message)


def build_server(
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    """A grpc.aio server with tracing, error mapping, health and reflection."""
    server = grpc.aio.server(
        interceptors=[aio_server_interceptor(), ErrorInterceptor(), *interceptors],
        options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
        ],
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    return server, health_servicer


def enable_reflection(server: grpc.aio.Server, service_names: Sequence[str]) -> None:
    reflection.enable_server_reflection(
        [
            *service_names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
