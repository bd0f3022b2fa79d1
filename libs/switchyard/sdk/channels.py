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
from switchyard.core.tls import ClientTls
from switchyard.sdk.bearer import BearerMetadata

_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.enable_retries", 1),
]


def _credentials(
    settings: Settings, address: str, tls: ClientTls | None
) -> grpc.ChannelCredentials | None:
    """TLS when the platform or the settings ask for it (`tls`: the discovered
    endpoints' say, else the settings'), or when the address is an HTTPS port
    (an ingress): then the system's roots unless a CA is given."""
    tls = tls or ClientTls.of(settings)
    if tls is None and address.endswith(":443"):
        tls = ClientTls()
    return tls.grpc_credentials() if tls is not None else None


def sync_channel(
    address: str, settings: Settings, *, traced: bool = True, tls: ClientTls | None = None
) -> grpc.Channel:
    creds = _credentials(settings, address, tls)
    if creds is not None:
        channel = grpc.secure_channel(address, creds, options=_OPTIONS)
    else:
        channel = grpc.insecure_channel(address, options=_OPTIONS)
    if not traced:
        return channel
    # OpenTelemetry's sync interceptor has its own channel wrapper.
    return intercept_channel(channel, client_interceptor())  # type: ignore[no-any-return]


def async_channel(
    address: str,
    settings: Settings,
    *,
    traced: bool = True,
    token: str | None = None,
    tls: ClientTls | None = None,
) -> grpc.aio.Channel:
    """`token`: every call carries it (for stubs called directly; the SDK's
    transport adds its own metadata instead)."""
    creds = _credentials(settings, address, tls)
    interceptors: list[Any] = list(aio_client_interceptors()) if traced else []
    if token:
        interceptors.append(BearerMetadata(token))
    if creds is not None:
        return grpc.aio.secure_channel(
            address, creds, options=_OPTIONS, interceptors=interceptors or None
        )
    return grpc.aio.insecure_channel(address, options=_OPTIONS, interceptors=interceptors or None)
