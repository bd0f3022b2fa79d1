"""A service's client of another service, made on first use.

Under `switchyard up` a service starts before the platform's endpoints are
all known (they appear once every service is healthy), so the client it
uses to call another is made at its first call, not at start. Subclasses
(the tuner's tracking and scheduler, the registry's tracking, the gateway's
registry) add the calls they make; `close()` is idempotent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class Closeable(Protocol):
    async def close(self) -> None: ...


C = TypeVar("C", bound=Closeable)


class Peer(Generic[C]):
    def __init__(self, make: Callable[[], C]) -> None:
        self._make = make
        self._client: C | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> C:
        async with self._lock:
            if self._client is None:
                self._client = self._make()
            return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()
