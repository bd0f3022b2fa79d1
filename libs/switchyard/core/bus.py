"""The message bus: one NATS connection, the events stream, publish, consume.

`Bus` owns the connection (reconnecting forever) and is closed by its owner.
Publishing sets `Nats-Msg-Id` so JetStream drops duplicates from retries and
relay restarts; durable consumers ack only after the handler succeeded, so
a crash mid-handler means redelivery, never loss. A consumer remembers the
ids it handled lately, so an event redelivered after NATS lost an ack (or
published again after NATS lost its dedupe window) reaches its handler once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType

import nats
import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError
from opentelemetry import trace
from prometheus_client import Counter

from switchyard.core import events
from switchyard.core.events import Event
from switchyard.core.streams import stream_created
from switchyard.core.telemetry import context_from_headers
from switchyard.core.tls import ClientTls
from switchyard.core.transient import backoff

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 5.0
_tracer = trace.get_tracer("switchyard.bus")

Handler = Callable[[Event], Awaitable[None]]
DUPLICATE_WINDOW_S = 600.0
FETCH_TIMEOUT_S = 1.0  # how long one pull waits for messages before asking again
RECENT_IDS = 10_000  # per consumer: redeliveries come within seconds, not 10,000 events
CONSUMER_CHECK_S = 10.0  # an idle consumer checks this often that NATS still has it

UNDECODABLE = Counter(
    "switchyard_events_undecodable_total", "Events dropped because they could not be decoded"
)


class Bus:
    def __init__(
        self,
        url: str,
        *,
        namespace: str = "",
        name: str = "switchyard",
        tls: ClientTls | None = None,
    ) -> None:
        """`tls`: the CA (and client certificate) for a NATS that requires TLS
        (`tls://`); nats-py upgrades when the server asks, whatever the scheme."""
        self.url = url
        self.tls = tls
        self.namespace = namespace
        self.name = name
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stream_limits: tuple[float, int] = (7.0, 1)  # max age in days, replicas
        self._makes_stream = False  # a service's bus makes the stream; a client's waits for it
        self._consumers: set[_Consumer] = set()

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("bus is not open")
        return self._js

    @property
    def nc(self) -> NATS:
        if self._nc is None:
            raise RuntimeError("bus is not open")
        return self._nc

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def __aenter__(self) -> Bus:
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        if self._nc is not None:
            return
        self._nc = await nats.connect(
            self.url,
            name=self.name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnect,
            reconnected_cb=self._on_reconnect,
            **({"tls": self.tls.ssl_context()} if self.tls is not None else {}),
        )
        self._js = self._nc.jetstream()

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:  # a consumer stuck in nats-py's cleanup must not hold the close
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT_S)
        nc, self._nc, self._js = self._nc, None, None
        if nc is None or nc.is_closed:
            return
        # Drain only a live connection, and not for ever: with NATS gone, nats-py's
        # drain waits on a reconnect that never comes and the process never exits.
        if nc.is_connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.drain(), CLOSE_TIMEOUT_S)
        if not nc.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), CLOSE_TIMEOUT_S)

    async def _on_error(self, exc: Exception) -> None:
        log.warning("nats error", extra={"error": str(exc)})

    async def _on_reconnect(self) -> None:
        for consumer in self._consumers:
            consumer.check = True

    async def _on_disconnect(self) -> None:
        if self._nc is not None:  # not when closing it ourselves (close() cleared it)
            log.warning("nats disconnected; reconnecting")

    # -- streams ------------------------------------------------------------

    async def ensure_events_stream(
        self, *, max_age_days: float | None = None, replicas: int | None = None
    ) -> None:
        """Create `SY_EVENTS` (or update its limits) so every service can start first.

        Called again with no arguments (after NATS came back without its
        streams), it recreates the stream with the limits given last time.
        """
        self._makes_stream = True
        if max_age_days is not None:
            self._stream_limits = (max_age_days, self._stream_limits[1])
        if replicas is not None:
            self._stream_limits = (self._stream_limits[0], replicas)
        age_days, num_replicas = self._stream_limits
        config = api.StreamConfig(
            name=events.events_stream(self.namespace),
            subjects=[events.nats_subject("sy.>", self.namespace)],
            storage=api.StorageType.FILE,
            retention=api.RetentionPolicy.LIMITS,
            max_age=age_days * 86400,
            duplicate_window=DUPLICATE_WINDOW_S,
            num_replicas=num_replicas,
        )
        try:
            await self.js.stream_info(events.events_stream(self.namespace))
        except NotFoundError:
            with contextlib.suppress(nats.js.errors.BadRequestError):
                await self.js.add_stream(config)
                return
        await self.js.update_stream(config)

    # -- publish ------------------------------------------------------------

    async def publish(self, event: Event) -> None:
        await self.publish_many([event])

    async def publish_many(self, batch: Sequence[Event]) -> None:
        await self.publish_raw(
            [(e.type, e.data.SerializeToString(), events.encode_headers(e)) for e in batch]
        )

    async def publish_raw(self, batch: Sequence[tuple[str, bytes, dict[str, str]]]) -> None:
        """Publish (event type, body, headers) in order; wait for every JetStream ack."""
        # Requests go out in the order the coroutines start, so per-entity
        # order holds while the acks are awaited together.
        acks = [
            self.js.publish(events.nats_subject(event_type, self.namespace), body, headers=headers)
            for event_type, body, headers in batch
        ]
        await asyncio.gather(*acks)

    # -- consume ------------------------------------------------------------

    async def consume(
        self,
        subject: str,
        handler: Handler,
        *,
        durable: str | None = None,
        deliver_new: bool = False,
        batch: int = 64,
    ) -> asyncio.Task[None]:
        """Run `handler` for each event on `subject` (a `sy.` pattern).

        With `durable`, the consumer's position survives restarts and the
        message is acked only after the handler returns; a failing handler
        gets the event again after a short delay. A consumer that NATS lost
        (it came back with an empty store) is made again where it stopped.
        """
        consumer = _Consumer(self, subject, durable, deliver_new)
        await consumer.subscribe()
        self._consumers.add(consumer)

        async def loop() -> None:
            try:
                await self._pull_forever(consumer, handler, batch)
            finally:
                self._consumers.discard(consumer)
                await consumer.unsubscribe()

        task = asyncio.create_task(loop(), name=f"consume:{subject}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _pull_forever(self, consumer: _Consumer, handler: Handler, batch: int) -> None:
        failures = 0
        idle_since = asyncio.get_running_loop().time()
        while True:
            try:
                msgs = await consumer.sub.fetch(batch, timeout=FETCH_TIMEOUT_S)
            except TimeoutError:
                # Nothing arrived. nats-py raises its own TimeoutError on one
                # path and asyncio's on another (2.16); both are the builtin.
                now = asyncio.get_running_loop().time()
                if (consumer.check or now - idle_since > CONSUMER_CHECK_S) and self.connected:
                    idle_since = now
                    await consumer.recover()
                continue
            except nats.errors.Error as exc:  # disconnected or draining: NATS comes back
                failures += 1
                await asyncio.sleep(backoff(failures))
                log.warning("event fetch retrying", extra={"error": repr(exc)})
                if self.connected:
                    await consumer.recover()
                continue
            failures = 0
            idle_since = asyncio.get_running_loop().time()
            for msg in msgs:
                await self._handle(msg, handler, consumer.handled)
            if msgs:
                consumer.last = msgs[-1]

    async def _handle(self, msg: Msg, handler: Handler, handled: RecentIds) -> None:
        try:
            event = events.decode(msg.headers, msg.data)
        except Exception as exc:
            # A poison message must not stop the subscription: redelivering
            # it cannot help, so it is counted, logged and terminated.
            UNDECODABLE.inc()
            log.error(
                "undecodable event dropped",
                extra={"subject": msg.subject, "error": repr(exc), "size": len(msg.data)},
            )
            with contextlib.suppress(Exception):
                await msg.term()
            return
        if event.id in handled:
            # Handled already: its ack was lost (NATS restarted) or the relay
            # published it again after NATS forgot its dedupe window.
            await msg.ack()
            return
        ctx = context_from_headers(msg.headers)
        with _tracer.start_as_current_span(
            f"consume {event.type}", context=ctx, kind=trace.SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.message.id", event.id)
            try:
                await handler(event)
            except Exception as exc:
                span.record_exception(exc)
                log.exception("event handler failed", extra={"event_id": event.id})
                await msg.nak(delay=1.0)
                return
        handled.add(event.id)
        await msg.ack()


class _Consumer:
    """One pull consumer on the events stream, made again if NATS loses it."""

    def __init__(self, bus: Bus, subject: str, durable: str | None, deliver_new: bool) -> None:
        self.bus = bus
        self.subject = events.nats_subject(subject, bus.namespace)
        self.stream = events.events_stream(bus.namespace)
        self.durable = durable
        self.deliver_new = deliver_new
        self.sub: JetStreamContext.PullSubscription
        self.stream_created: datetime | None = None
        self.last: Msg | None = None  # the last message handled: where to go on from
        self.handled = RecentIds()
        # Set when NATS reconnected: it may have come back without this consumer, and
        # some nats-py versions then let a fetch time out quietly instead of failing.
        self.check = False

    async def subscribe(self, policy: api.DeliverPolicy | None = None, start: int = 0) -> None:
        if policy is None:
            policy = api.DeliverPolicy.NEW if self.deliver_new else api.DeliverPolicy.ALL
        config = api.ConsumerConfig(
            durable_name=self.durable,
            deliver_policy=policy,
            opt_start_seq=start or None,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=30,
            max_deliver=20,
            inactive_threshold=None if self.durable else 60.0,
        )
        self.sub = await self.bus.js.pull_subscribe(
            self.subject, durable=self.durable, stream=self.stream, config=config
        )
        with contextlib.suppress(nats.errors.Error):
            info = await self.bus.js.stream_info(self.stream)
            self.stream_created = await stream_created(info, self.bus.nc)

    async def unsubscribe(self) -> None:
        with contextlib.suppress(Exception):
            await self.sub.unsubscribe()

    async def recover(self) -> None:
        """Make the consumer again if NATS no longer has it. Until that is settled
        (NATS answers, and the consumer is there or made again) `check` stays set."""
        try:
            await self.sub.consumer_info()
            self.check = False
            return
        except NotFoundError:
            pass
        except nats.errors.Error:
            return  # not answering now: asked again on the next failure
        try:
            info = await self.bus.js.stream_info(self.stream)
        except NotFoundError:
            if not self.bus._makes_stream:
                return  # the platform's services make it again; wait for them
            await self.bus.ensure_events_stream()
            info = await self.bus.js.stream_info(self.stream)
        old = self.sub
        made_again = await stream_created(info, self.bus.nc) != self.stream_created
        if made_again:  # a stream made again starts over: everything on it is new to us
            await self.subscribe(api.DeliverPolicy.ALL)
        elif self.last is not None:  # only the consumer went: go on after the last handled
            await self.subscribe(
                api.DeliverPolicy.BY_START_SEQUENCE, self.last.metadata.sequence.stream + 1
            )
        else:  # it went before handling anything: as it was first asked for
            await self.subscribe()
        with contextlib.suppress(Exception):
            await old.unsubscribe()
        self.check = False
        log.warning("event consumer made again", extra={"subject": self.subject})


class RecentIds:
    """The ids of the last events handled, so a redelivered one is handled once."""

    def __init__(self, size: int = RECENT_IDS) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
