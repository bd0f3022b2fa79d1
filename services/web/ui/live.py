"""Live pages: events from NATS to the browser as server-sent events.

    GET /ui/live?type=sy.tracking.metrics.logged&subject=<run id>

One core-NATS subscription on the namespace's `sy.>` serves every open
page; it exists only while a page listens (the idle edge holds no NATS
connection). A message is matched on its headers (`ce-type`, `ce-subject`)
and decoded only when some page wants it. Core NATS, not a JetStream
consumer: a page wants what happens from now on, at the lowest latency, and
one that reconnects reloads what it shows. A slow page loses events rather
than holding the others back: its queue is bounded and the page is told.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from switchyard.core.events import Event, decode, nats_subject
from switchyard.errors import InvalidArgument, Unavailable
from switchyard.sdk.endpoints import discover

log = logging.getLogger(__name__)
QUEUE = 1000  # events a page may fall behind before it is told it missed some
KEEPALIVE_S = 15.0  # a comment line so proxies keep the stream open


def matches(pattern: str, subject: str) -> bool:
    """NATS wildcards: `*` one token, `>` the rest (at least one token)."""
    want, got = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(got) > i
        if i >= len(got) or (token != "*" and token != got[i]):
            return False
    return len(want) == len(got)


@dataclass(eq=False)
class Listener:
    type_pattern: str  # an event type pattern, e.g. sy.tracking.>
    subject: str  # the entity (ce-subject), "" for all
    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(QUEUE))
    missed: int = 0

    def wants(self, event_type: str, subject: str) -> bool:
        return matches(self.type_pattern, event_type) and self.subject in ("", subject)

    def end(self) -> None:
        """The edge stops: what is queued is dropped, the page's stream ends."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.missed += 1


class EventHub:
    """Fans the platform's events out to the pages that listen."""

    def __init__(self, connect: Callable[[], tuple[str | None, str, Any]]) -> None:
        # -> (NATS URL, namespace, ClientTls or None), read when the first page listens
        self._connect = connect
        self._listeners: set[Listener] = set()
        self._bus: Any = None  # a core.bus.Bus once a page listens
        self._sub: Any = None
        self._namespace = ""
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def listen(self, type_pattern: str, subject: str = "") -> AsyncIterator[Listener]:
        listener = Listener(type_pattern, subject)
        await self._open()
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)

    async def _open(self) -> None:
        async with self._lock:
            if self._sub is not None:
                return
            url, self._namespace, tls = self._connect()
            if not url:
                raise Unavailable("no NATS address: live updates need the platform's NATS")
            from switchyard.core.bus import Bus  # nats-py: loaded when a page first listens

            bus = Bus(url, namespace=self._namespace, name="switchyard-web-live", tls=tls)
            await bus.open()
            self._bus = bus
            self._sub = await bus.nc.subscribe(nats_subject("sy.>", self._namespace), cb=self._on)

    async def _on(self, msg: Any) -> None:
        headers = msg.headers or {}
        event_type, subject = headers.get("ce-type", ""), headers.get("ce-subject", "")
        wanting = [ear for ear in self._listeners if ear.wants(event_type, subject)]
        if not wanting:
            return
        try:
            event = decode(headers, msg.data)
        except Exception:  # a malformed message must not end the subscription
            log.warning("undecodable event", extra={"type": event_type})
            return
        for ear in wanting:
            ear.offer(event)

    async def close(self) -> None:
        for ear in list(self._listeners):
            ear.end()
        bus, self._bus, self._sub = self._bus, None, None
        if bus is not None:
            await bus.close()


def event_json(event: Event) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    return {
        "id": event.id,
        "type": event.type,
        "subject": event.subject,
        "time": event.time.isoformat(),
        "data": MessageToDict(event.data, preserving_proto_field_name=True),
    }


def _check_pattern(pattern: str) -> str:
    tokens = pattern.split(".")
    if tokens[0] != "sy" or any(not t for t in tokens) or ">" in tokens[:-1]:
        raise InvalidArgument(
            f"type {pattern!r} must be an event type or pattern under 'sy.' (e.g. sy.tracking.>)",
            field="type",
        )
    return pattern


async def stream(request: Request) -> Response:
    """Server-sent events: each event as JSON, as it happens."""
    pattern = _check_pattern(request.query_params.get("type", "sy.>"))
    subject = request.query_params.get("subject", "")
    hub: EventHub = request.app.state.live

    async def body() -> AsyncIterator[bytes]:
        async with hub.listen(pattern, subject) as ear:
            yield b"event: ready\ndata: {}\n\n"  # subscribed: from here on nothing is missed
            while True:
                try:
                    event = await asyncio.wait_for(ear.queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if event is None:  # the edge is stopping
                    return
                if ear.missed:
                    yield f"event: missed\ndata: {ear.missed}\n\n".encode()
                    ear.missed = 0
                data = json.dumps(event_json(event), separators=(",", ":"))
                # unnamed: one EventSource listener serves a pattern (the type is in the data)
                yield f"id: {event.id}\ndata: {data}\n\n".encode()

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)


def hub_for(settings: Any) -> EventHub:
    def connect() -> tuple[str | None, str, Any]:
        found = discover(settings)
        return found.nats, found.namespace, found.client_tls

    return EventHub(connect)
