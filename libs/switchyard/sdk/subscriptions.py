"""Events for automation: iterate them, or hand them to a callback.

    for event in sy.events(sy.event_types.RUN_FINISHED, timeout=30):
        print(event.type, event.subject, event.data.info.status)

A subject is a string ("sy.tracking.run.>" for a family), a constant of
`sy.event_types`, or a catalog `EventType`.

`deliver="new"` starts at the next event, `"all"` at the oldest one kept;
with `durable="name"` the position is kept on the server across restarts,
and `subscribe` acks each event only after the handler returned.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Literal

from switchyard.core.bus import Bus
from switchyard.core.config import Settings
from switchyard.core.event_types import EventType
from switchyard.core.events import Event
from switchyard.errors import InvalidArgument, Unavailable
from switchyard.sdk.endpoints import discover

Deliver = Literal["new", "all"]
Subject = str | EventType
_END = object()


def _bus(settings: Settings | None) -> Bus:
    endpoints = discover(settings or Settings())
    if not endpoints.nats:
        raise Unavailable(
            "no NATS address: start the platform with `switchyard up` or set SWITCHYARD_NATS_URL"
        )
    _reachable(endpoints.nats)
    return Bus(
        endpoints.nats,
        namespace=endpoints.namespace,
        name="switchyard-sdk",
        tls=endpoints.client_tls,
    )


def _reachable(url: str) -> None:
    """Fail at once, with a hint, when nothing listens at NATS's address (a platform
    that stopped, a stale endpoints.json): the client would otherwise retry for ever."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(url)
    host, port = where.hostname or "127.0.0.1", where.port or 4222
    try:
        with socket.create_connection((host, port), timeout=5):
            return
    except OSError as exc:
        raise Unavailable(
            f"cannot reach the platform's NATS at {host}:{port} ({exc.strerror or exc}):"
            " is the platform running? (`switchyard status`)"
        ) from None


def _check(subject: Subject, deliver: str) -> str:
    """The subject as a string, once its form and `deliver` are checked."""
    if isinstance(subject, EventType):
        subject = subject.name
    if not isinstance(subject, str) or not subject.startswith("sy."):
        raise InvalidArgument(f"subject {subject!r} must start with 'sy.'", field="subject")
    if deliver not in ("new", "all"):
        raise InvalidArgument(f"deliver must be 'new' or 'all', not {deliver!r}", field="deliver")
    return str(subject)


async def async_events(
    subject: Subject = "sy.>",
    *,
    deliver: Deliver = "new",
    durable: str | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 (an idle timeout, not a deadline)
    settings: Settings | None = None,
) -> AsyncIterator[Event]:
    """Events on `subject` as they come; stops after `timeout` seconds of quiet."""
    subject = _check(subject, deliver)
    inbox: asyncio.Queue[Event] = asyncio.Queue(maxsize=1)
    async with _bus(settings) as bus:
        await bus.consume(subject, inbox.put, durable=durable, deliver_new=deliver == "new")
        while True:
            # asyncio.timeout, not wait_for(inbox.get()): a wait cancelled before
            # it started would leave the get() coroutine never awaited.
            try:
                async with asyncio.timeout(timeout):
                    event = await inbox.get()
            except TimeoutError:
                return
            yield event


class Subscription:
    """A handler running on a background thread; `close()` stops it."""

    def __init__(
        self,
        subject: Subject,
        handler: Callable[[Event], object],
        *,
        durable: str | None,
        deliver: Deliver,
        settings: Settings | None,
    ) -> None:
        subject = _check(subject, deliver)
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._main,
            args=(subject, handler, durable, deliver, settings),
            name=f"sy-subscribe:{subject}",
            daemon=True,
        )
        self._thread.start()
        self._started.wait(30)
        if self._error is not None:
            raise self._error

    def _main(
        self,
        subject: str,
        handler: Callable[[Event], object],
        durable: str | None,
        deliver: Deliver,
        settings: Settings | None,
    ) -> None:
        async def run() -> None:
            self._stop = asyncio.Event()
            try:
                async with _bus(settings) as bus:

                    async def call(event: Event) -> None:
                        await asyncio.to_thread(handler, event)

                    await bus.consume(subject, call, durable=durable, deliver_new=deliver == "new")
                    self._started.set()
                    await self._stop.wait()
            except BaseException as exc:
                self._error = exc
                self._started.set()

        # A Runner, not run_until_complete + close: it cancels and awaits what
        # the bus left pending (nats-py's fetches) before the loop closes.
        with asyncio.Runner(loop_factory=lambda: self._loop) as runner:
            runner.run(run())

    def close(self) -> None:
        if self._thread.is_alive() and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def subscribe(
    subject: Subject,
    handler: Callable[[Event], object],
    durable: str | None = None,
    *,
    deliver: Deliver = "new",
    settings: Settings | None = None,
) -> Subscription:
    return Subscription(subject, handler, durable=durable, deliver=deliver, settings=settings)


def events(
    subject: Subject = "sy.>",
    *,
    deliver: Deliver = "new",
    durable: str | None = None,
    timeout: float | None = None,
    settings: Settings | None = None,
) -> Iterator[Event]:
    """The blocking form of `async_events`, for scripts and notebooks.

    The subscription exists when this returns, so with `deliver="new"` no
    event published after the call is missed.
    """
    subject = _check(subject, deliver)
    out: queue.Queue[object] = queue.Queue(maxsize=1000)
    ready = threading.Event()
    stop = threading.Event()

    async def run() -> None:
        try:
            async with _bus(settings) as bus:
                inbox: asyncio.Queue[Event] = asyncio.Queue(maxsize=1)
                await bus.consume(subject, inbox.put, durable=durable, deliver_new=deliver == "new")
                ready.set()
                quiet_since = time.monotonic()
                while not stop.is_set():
                    # Short waits, so a consumer that stopped iterating is noticed soon.
                    try:
                        async with asyncio.timeout(0.2):
                            event = await inbox.get()
                    except TimeoutError:
                        if timeout is not None and time.monotonic() - quiet_since >= timeout:
                            # The reader learns now, not after the bus closed.
                            out.put(_END)
                            return
                        continue
                    quiet_since = time.monotonic()
                    while not stop.is_set():
                        try:
                            out.put_nowait(event)
                            break
                        except queue.Full:
                            await asyncio.sleep(0.05)
        except BaseException as exc:
            out.put(exc)
        finally:
            ready.set()
            out.put(_END)

    thread = threading.Thread(
        target=asyncio.run, args=(run(),), name=f"sy-events:{subject}", daemon=True
    )
    thread.start()
    ready.wait(30)
    return _drain(out, stop)


def _drain(out: queue.Queue[object], stop: threading.Event) -> Iterator[Event]:
    try:
        while True:
            item = out.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
