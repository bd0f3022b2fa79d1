"""Tests that call generated stubs by hand need the token on each call too."""

from __future__ import annotations

import collections
from typing import Any

import grpc

from switchyard.core.auth import authorization
from switchyard.core.config import Settings
from switchyard.sdk.endpoints import find_token


class _Details(
    collections.namedtuple(
        "_Details",
        ["method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"],
    ),
    grpc.ClientCallDetails,
):
    pass


class _Bearer(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    def __init__(self, token: str) -> None:
        self._pair = authorization(token)

    def _details(self, d: Any) -> _Details:
        metadata = [*(d.metadata or ()), self._pair]
        return _Details(
            d.method,
            d.timeout,
            metadata,
            d.credentials,
            getattr(d, "wait_for_ready", None),
            getattr(d, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


def authorized_channel(address: str, settings: Settings) -> grpc.Channel:
    """A plaintext channel whose calls carry the token of `settings` (its home's)."""
    channel = grpc.insecure_channel(address)
    token = find_token(settings)
    return grpc.intercept_channel(channel, _Bearer(token)) if token else channel


def bearer(settings: Settings) -> tuple[tuple[str, str], ...]:
    """Metadata for one call by hand: `stub.Method(request, metadata=bearer(s))`."""
    token = find_token(settings)
    return (authorization(token),) if token else ()
