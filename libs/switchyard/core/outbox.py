"""The transactional outbox: events written with the change, published after.

A service calls `Outbox.add(conn, ...)` inside the transaction that makes a
change; the event row commits or rolls back with it, so no event is
published for a rolled-back change and none is lost when the process dies
after the commit. `OutboxRelay` publishes pending rows to JetStream in
order and marks them; if it dies between publish and mark, the next relay
publishes the same event ids again and JetStream's `Nats-Msg-Id` dedupe
drops the copies, so subscribers see each event once.

Replicas: each relay batch runs under a transaction-scoped advisory lock,
so one relay publishes at a time (keeping per-entity order) and another
takes over as soon as it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence

import asyncpg
from google.protobuf.message import Message
from prometheus_client import Gauge, Histogram

from switchyard.core import events
from switchyard.core.bus import Bus
from switchyard.core.db import Database, lock_key
from switchyard.core.event_types import EventType
from switchyard.core.events import Event
from switchyard.core.telemetry import current_trace_headers

log = logging.getLogger(__name__)

MIGRATION = (
    "000_outbox.sql",
    """
    CREATE TABLE outbox (
        seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id     uuid NOT NULL UNIQUE,
        type         text NOT NULL,
        headers      jsonb NOT NULL,
        payload      bytea NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
    );
    CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
    """,
)

BACKLOG = Gauge("switchyard_outbox_backlog", "Outbox events not yet published", ["schema"])
LAG = Histogram(
    "switchyard_outbox_publish_lag_seconds",
    "Time from commit to JetStream ack",
    ["schema"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

# A statement that writes something else along with the events (`add_events(along=)`).
Along = tuple[str, Sequence[object]]


@functools.lru_cache(maxsize=64)
def _insert_sql(along: str | None, first: int) -> str:
    """The events' insert and wake-up, after `along` (parameters $1..$first-1) if any."""
    p = [f"${first + i}" for i in range(5)]
    pre = f"along AS ({along}), " if along else ""
    return (
        f"WITH {pre}ins AS (INSERT INTO outbox (event_id, type, headers, payload)"
        f" SELECT * FROM unnest({p[0]}::uuid[], {p[1]}::text[], {p[2]}::jsonb[], {p[3]}::bytea[]))"
        f" SELECT pg_notify({p[4]}, '')"
    )


# The relay's batch, only while it holds the relay lock (the CTE runs once). Its
# transaction commits without waiting for the WAL flush: a mark lost in a crash
# means the events are published again, and JetStream drops the copies by their
# Nats-Msg-Id; the events themselves were committed durably by their writers.
_PENDING = """
WITH relay AS (
    SELECT pg_try_advisory_xact_lock($2) AS held,
           set_config('synchronous_commit', 'off', true) AS async_commit
)
SELECT seq, event_id, type, headers, payload, created_at FROM outbox, relay
WHERE relay.held AND published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE OF outbox SKIP LOCKED
"""
_BACKLOG = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
# Marks the batch; the count sees the rows before the update, hence the difference.
_MARK = """
WITH marked AS (UPDATE outbox SET published_at = now() WHERE seq = ANY($1) RETURNING 1)
SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL) - (SELECT count(*) FROM marked)
"""


def channel(schema: str) -> str:
    return f"sy_outbox_{schema}"


class Outbox:
    """Writes events into the caller's transaction."""

    def __init__(self, schema: str) -> None:
        self.channel = channel(schema)
        self._held: dict[int, list[Event]] = {}  # by id(conn), inside `batched`

    @contextlib.asynccontextmanager
    async def batched(self, conn: asyncpg.Connection) -> AsyncIterator[None]:
        """Events added on `conn` inside the block are written at its end, in order,
        in one statement (still in the caller's transaction): a transaction that
        changes many entities pays one insert, not one per event. Nothing is
        written if the block raises (its transaction is rolled back anyway)."""
        held: list[Event] = []
        self._held[id(conn)] = held
        try:
            yield
        finally:
            del self._held[id(conn)]
        await self.add_events(conn, held)

    async def add(
        self, conn: asyncpg.Connection, event_type: EventType, subject: str, data: Message
    ) -> Event:
        event = self.event(event_type, subject, data)
        await self.add_events(conn, [event])
        return event

    @staticmethod
    def event(
        event_type: EventType,
        subject: str,
        data: Message,
        trace: Mapping[str, str] | None = None,
    ) -> Event:
        """A new event for `add_events`, carrying `trace` (W3C headers) or the current context.

        A batch written for several callers passes each caller's own trace.
        """
        headers = dict(trace) if trace is not None else current_trace_headers()
        return events.new_event(event_type, subject, data, headers)

    async def add_events(
        self, conn: asyncpg.Connection, batch: Sequence[Event], *, along: Along | None = None
    ) -> None:
        """Write `batch`; with `along` (SQL and its arguments, a data-modifying
        statement), in the same statement: one round trip, and outside a
        transaction one atomic implicit transaction."""
        held = self._held.get(id(conn))
        if held is not None or not batch:
            if along is not None:
                await conn.execute(along[0], *along[1])
            if held is not None:
                held.extend(batch)
            return
        sql, args = along if along is not None else (None, ())
        await conn.execute(
            _insert_sql(sql, len(args) + 1),
            *args,
            [e.id for e in batch],
            [e.type for e in batch],
            [json.dumps(events.encode_headers(e)) for e in batch],
            [e.data.SerializeToString() for e in batch],
            self.channel,
        )


class OutboxRelay:
    """Publishes the outbox of one schema. Run `run()` as a background task."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        *,
        batch_size: int = 256,
        poll_interval: float = 1.0,
        after_publish: Callable[[Sequence[str]], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        # Test seam: runs after publish, before the rows are marked.
        self._after_publish = after_publish
        self._wake = asyncio.Event()
        self._lock = lock_key(f"outbox:{db.schema}")

    async def run(self) -> None:
        listener = await asyncpg.connect(self.db.dsn)
        await listener.add_listener(channel(self.db.schema), self._notified)
        last_cleanup = 0.0
        try:
            while True:
                try:
                    while await self.relay_once() == self.batch_size:
                        pass
                    if time.monotonic() - last_cleanup > 60:
                        await self._cleanup()
                        last_cleanup = time.monotonic()
                except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                    # The bus or database is away; keep the rows and retry.
                    log.warning("outbox relay retrying", extra={"error": repr(exc)})
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        finally:
            with contextlib.suppress(Exception):
                await listener.close()

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish one batch of pending events; return how many.

        Two statements besides BEGIN/COMMIT: the batch under the relay lock
        (none when another replica holds it), and marking it with the backlog left.
        """
        async with self.db.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_PENDING, self.batch_size, self._lock)
            if not rows:
                BACKLOG.labels(self.db.schema).set(await conn.fetchval(_BACKLOG))
                return 0
            await self.bus.publish_raw(
                [(r["type"], r["payload"], json.loads(r["headers"])) for r in rows]
            )
            if self._after_publish is not None:
                await self._after_publish([str(r["event_id"]) for r in rows])
            left = await conn.fetchval(_MARK, [r["seq"] for r in rows])
            BACKLOG.labels(self.db.schema).set(left)
            now = time.time()
            for r in rows:
                LAG.labels(self.db.schema).observe(max(0.0, now - r["created_at"].timestamp()))
            return len(rows)

    async def _cleanup(self) -> None:
        # Published rows are kept an hour for inspection, then dropped.
        await self.db.pool.execute(
            "DELETE FROM outbox WHERE published_at < now() - interval '1 hour'"
        )
