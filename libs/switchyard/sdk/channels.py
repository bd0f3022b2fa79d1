"""gRPC channels with tracing, as every SDK client (and service) makes them."""

from __future__ import annotations

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors, client_interceptor
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel

_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.enable_retries", 1),
]


def sync_channel(address: str) -> grpc.Channel:
    # OpenTelemetry's sync interceptor has its own channel wrapper.
    channel = grpc.insecure_channel(address, options=_OPTIONS)
    return intercept_channel(channel, client_interceptor())  # type: ignore[no-any-return]


def async_channel(address: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        address, options=_OPTIONS, interceptors=aio_client_interceptors()
    )
