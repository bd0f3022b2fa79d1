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

`ThreadCoalescer` does the same for blocking calls from several threads
(the SDK's clients): there are no tasks, so a caller thread sends. When its
batch is answered, it hands the next batch to a waiting caller and returns.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Send = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]
SendBlocking = Callable[[list[T]], Sequence[R | BaseException]]


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


class _Call(Generic[T, R]):
    def __init__(self, item: T) -> None:
        self.item = item
        self.wake = threading.Event()  # answered, or this caller's turn to send
        self.lead = False
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None


class ThreadCoalescer(Generic[T, R]):
    def __init__(
        self, send: SendBlocking[T, R], *, max_batch: int = 64, max_in_flight: int = 1
    ) -> None:
        self._send = send
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._lock = threading.Lock()
        self._queue: list[_Call[T, R]] = []
        self._in_flight = 0  # callers chosen to send a batch (each exactly once)

    def __call__(self, item: T) -> R:
        call: _Call[T, R] = _Call(item)
        with self._lock:
            self._queue.append(call)
            if self._in_flight < self._max_in_flight:
                self._in_flight += 1
                call.lead = True
        try:
            self._wait(call)
        except BaseException:  # interrupted (Ctrl-C): leave the queue, pass on a turn
            with self._lock:
                if call in self._queue:
                    self._queue.remove(call)
                if call.lead:
                    call.lead = False
                    self._pass_turn()
            raise
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]

    def _wait(self, call: _Call[T, R]) -> None:
        while True:
            # A turn to send is taken even if another sender answered this call
            # meanwhile: each turn passes the duty on, or ends it.
            if call.lead:
                call.lead = False
                self._send_next()
            elif call.done:
                return
            else:
                call.wake.wait()
                call.wake.clear()

    def _send_next(self) -> None:
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        try:
            if batch:
                self._answer(batch)
        finally:
            with self._lock:
                self._pass_turn()

    def _pass_turn(self) -> None:
        """Under the lock: the next waiting caller sends, or there is one sender fewer."""
        waiting = next((c for c in self._queue if not c.lead), None)
        if waiting is not None:
            waiting.lead = True
            waiting.wake.set()
        else:
            self._in_flight -= 1

    def _answer(self, batch: list[_Call[T, R]]) -> None:
        results: Sequence[R | BaseException]
        try:
            results = self._send([call.item for call in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batch of {len(batch)} got {len(results)} results")
        except BaseException as exc:
            results = [exc] * len(batch)
            if not isinstance(exc, Exception):  # the sender's Ctrl-C: it fails all
                self._settle(batch, results)
                raise
        self._settle(batch, results)

    @staticmethod
    def _settle(batch: list[_Call[T, R]], results: Sequence[R | BaseException]) -> None:
        for call, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                call.error = result
            else:
                call.result = result
            call.done = True
            call.wake.set()
