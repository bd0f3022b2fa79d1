"""gRPC channels to the platform's services.

The SDK's transport opens them with `traced=False`: its own `TraceContext`
interceptor carries the caller's trace. Code that calls a generated stub on
a channel of its own (the trainer-worker) keeps OpenTelemetry's client
interceptors with the default `traced=True`.
"""

from __future__ import annotations

from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors, client_interceptor
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel

from switchyard.core.config import Settings
from switchyard.sdk.bearer import BearerMetadata

_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.enable_retries", 1),
]


def _credentials(settings: Settings, address: str) -> grpc.ChannelCredentials | None:
    """TLS when asked for, or when the address is an HTTPS port (an ingress)."""
    if not (settings.tls or address.endswith(":443")):
        return None
    ca = settings.tls_ca_file.read_bytes() if settings.tls_ca_file else None
    return grpc.ssl_channel_credentials(root_certificates=ca)


def sync_channel(address: str, settings: Settings, *, traced: bool = True) -> grpc.Channel:
    creds = _credentials(settings, address)
    if creds is not None:
        channel = grpc.secure_channel(address, creds, options=_OPTIONS)
    else:
        channel = grpc.insecure_channel(address, options=_OPTIONS)
    if not traced:
        return channel
    # OpenTelemetry's sync interceptor has its own channel wrapper.
    return intercept_channel(channel, client_interceptor())  # type: ignore[no-any-return]


def async_channel(
    address: str, settings: Settings, *, traced: bool = True, token: str | None = None
) -> grpc.aio.Channel:
    """`token`: every call carries it (for stubs called directly; the SDK's
    transport adds its own metadata instead)."""
    creds = _credentials(settings, address)
    interceptors: list[Any] = list(aio_client_interceptors()) if traced else []
    if token:
        interceptors.append(BearerMetadata(token))
    if creds is not None:
        return grpc.aio.secure_channel(
            address, creds, options=_OPTIONS, interceptors=interceptors or None
        )
    return grpc.aio.insecure_channel(address, options=_OPTIONS, interceptors=interceptors or None)
