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
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

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

_INSERT = """
WITH ins AS (
    INSERT INTO outbox (event_id, type, headers, payload)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::bytea[])
)
SELECT pg_notify($5, '')
"""


def channel(schema: str) -> str:
    return f"sy_outbox_{schema}"


class Outbox:
    """Writes events into the caller's transaction."""

    def __init__(self, schema: str) -> None:
        self.channel = channel(schema)

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

    async def add_events(self, conn: asyncpg.Connection, batch: Sequence[Event]) -> None:
        if not batch:
            return
        await conn.execute(
            _INSERT,
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
        """Publish one batch of pending events; return how many."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", self._lock):
                return 0  # another replica is relaying
            rows = await conn.fetch(
                "SELECT seq, event_id, type, headers, payload, created_at FROM outbox"
                " WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch_size,
            )
            if rows:
                await self.bus.publish_raw(
                    [(r["type"], r["payload"], json.loads(r["headers"])) for r in rows]
                )
                if self._after_publish is not None:
                    await self._after_publish([str(r["event_id"]) for r in rows])
                await conn.execute(
                    "UPDATE outbox SET published_at = now() WHERE seq = ANY($1)",
                    [r["seq"] for r in rows],
                )
                now = time.time()
                for r in rows:
                    LAG.labels(self.db.schema).observe(max(0.0, now - r["created_at"].timestamp()))
            BACKLOG.labels(self.db.schema).set(
                await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            )
            return len(rows)

    async def _cleanup(self) -> None:
        # Published rows are kept an hour for inspection, then dropped.
        await self.db.pool.execute(
            "DELETE FROM outbox WHERE published_at < now() - interval '1 hour'"
        )
