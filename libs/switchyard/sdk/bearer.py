"""A channel interceptor that puts the caller's API token on every call.

For stubs called directly on a channel (the worker's, a model replica's);
the SDK's transport adds its metadata itself. Imports grpc and
switchyard.core.auth alone, so a model replica can use it without the
SDK's heavier modules.
"""

from __future__ import annotations

from typing import Any

import grpc

from switchyard.core.auth import authorization


class BearerMetadata(
    grpc.aio.UnaryUnaryClientInterceptor,
    grpc.aio.UnaryStreamClientInterceptor,
    grpc.aio.StreamUnaryClientInterceptor,
    grpc.aio.StreamStreamClientInterceptor,
):
    """`authorization: Bearer <token>` on each call of a channel whose stubs are
    called directly (the worker's), not through the SDK's transport."""

    def __init__(self, token: str) -> None:
        self._pair = authorization(token)

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()), self._pair)
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self._details(details), requests)

    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self._details(details), requests)
