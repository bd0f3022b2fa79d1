"""Coalescing concurrent calls into batches, with no added delay when idle.

`Coalescer(send)` turns `await coalescer(item)` into calls of
`send(items)`: the first caller's item goes at once, alone; whatever
arrives while that batch is in flight goes together in the next one
("smart batching", as group commit in databases). Under load each batch
costs one round trip and one transaction for many items; at rest a call
costs what it did without the coalescer.

With `max_in_flight` above one, that many batches may be in flight at
once (a call that finds every sender busy waits for the next free one):
their round trips overlap, and the database flushes their commits together.

`send` returns one result per item, in order; an exception instance in
that list fails only its own caller, and an exception raised by `send`
fails the whole batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Send = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]


class Coalescer(Generic[T, R]):
    def __init__(self, send: Send[T, R], *, max_batch: int = 64, max_in_flight: int = 1) -> None:
        self._send = send
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._in_flight = 0  # senders running; counted in _drain, with no await in between
        self._senders: set[asyncio.Task[None]] = set()  # held so they are not collected

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._in_flight < self._max_in_flight:
            self._in_flight += 1
            sender = asyncio.create_task(self._drain())
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        return await future

    async def _drain(self) -> None:
        """Send batches until nothing is queued."""
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._send_batch(batch)
        finally:
            self._in_flight -= 1

    async def _send_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._send([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batch of {len(batch)} got {len(results)} results")
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise  # cancellation: the loop is going away
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
