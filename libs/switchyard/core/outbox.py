"""The transactional outbox: events written with the change, published after.

A service calls `Outbox.add(conn, ...)` inside the transaction that makes a
change; the event row commits or rolls back with it, so no event is
published for a rolled-back change and none is lost when the process dies
after the commit. `OutboxRelay` publishes pending rows to JetStream in
order and marks them; if it dies between publish and mark, the next relay
publishes the same event ids again and JetStream's `Nats-Msg-Id` dedupe
drops the copies, so subscribers see each event once.

The writer's own relay is woken in process once the transaction commits
(`db.Connection.after_commit`), not by NOTIFY: PostgreSQL serializes the
commits of notifying transactions, one WAL flush each. Rows written by
anyone else are found by the relay's poll.

Replicas: each relay batch runs under a transaction-scoped advisory lock,
so one relay publishes at a time (keeping per-entity order); a relay woken
while another replica's holds the lock tries again shortly, so its
process's events do not wait for the poll.
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
from nats.js.errors import NoStreamResponseError
from prometheus_client import Gauge, Histogram

from switchyard.core import audit, events
from switchyard.core import event_types as et
from switchyard.core.bus import Bus
from switchyard.core.db import Database, lock_key
from switchyard.core.event_types import EventType
from switchyard.core.events import Event
from switchyard.core.telemetry import current_trace_headers
from switchyard.core.transient import TRANSIENT
from switchyard.proto.v1 import access_pb2

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
LOCK_RETRY_S = 0.01
LINGER_S = 0.01

# A statement that writes something else along with the events (`add_events(along=)`).
Along = tuple[str, Sequence[object]]


@functools.lru_cache(maxsize=64)
def _insert_sql(along: str | None, first: int, audited: bool = False) -> str:
    """The events' insert, after `along` (parameters $1..$first-1) if any, and with
    the audit rows' upsert (parameters after the events') when `audited`."""
    p = [f"${first + i}" for i in range(4)]
    insert = (
        "INSERT INTO outbox (event_id, type, headers, payload)"
        f" SELECT * FROM unnest({p[0]}::uuid[], {p[1]}::text[], {p[2]}::jsonb[], {p[3]}::bytea[])"
    )
    ctes = [f"along AS ({along})"] if along else []
    if audited:
        ctes.append(f"audit AS ({audit.upsert_sql(first + 4)})")
    return f"WITH {', '.join(ctes)} {insert}" if ctes else insert


def _nothing() -> None:
    pass


# The relay's batch, only while it holds the relay lock (the CTE runs once; a row
# with no event says whether it did). Its transaction commits without waiting
# for the WAL flush: a mark lost in a crash means the events are published again,
# and JetStream drops the copies by their Nats-Msg-Id; the events themselves were
# committed durably by their writers.
_PENDING = """
WITH relay AS (
    SELECT pg_try_advisory_xact_lock($2) AS held,
           set_config('synchronous_commit', 'off', true) AS async_commit
)
SELECT relay.held, o.* FROM relay LEFT JOIN LATERAL (
    SELECT seq, event_id, type, headers, payload, created_at FROM outbox
    WHERE relay.held AND published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
) o ON true
"""
# Marks the batch; the count sees the rows before the update, hence the difference.
_MARK = """
WITH marked AS (UPDATE outbox SET published_at = now() WHERE seq = ANY($1) RETURNING 1)
SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL) - (SELECT count(*) FROM marked)
"""


class Outbox:
    """Writes events into the caller's transaction."""

    def __init__(self) -> None:
        # Called once a transaction that wrote events commits (the relay's wake).
        self.on_commit: Callable[[], None] = _nothing
        self._gathered: dict[int, list[Event]] = {}  # id(conn) -> events held back

    @contextlib.asynccontextmanager
    async def gathering(self, conn: asyncpg.Connection) -> AsyncIterator[None]:
        """Hold back the events added on `conn` inside the block and write them in
        one statement (and one audit row) when it ends well: a group of pipelined
        writes then costs one outbox write, not one per write. Use it inside the
        transaction, so the events commit with what they tell of."""
        pending: list[Event] = []
        self._gathered[id(conn)] = pending
        try:
            yield
        finally:
            del self._gathered[id(conn)]
        await self.add_events(conn, pending)

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
        self,
        conn: asyncpg.Connection,
        batch: Sequence[Event],
        *,
        along: Along | None = None,
        calls: Sequence[audit.Call | None] | None = None,
    ) -> None:
        """Write `batch`; with `along` (SQL and its arguments, a data-modifying
        statement), in the same statement: one round trip, and outside a
        transaction one atomic implicit transaction.

        The calls the events are written for get their audit rows in the same
        statement (`switchyard.core.audit`): `calls` names each event's, for a
        batch written for several callers; by default all are the current one's.
        """
        if along is None and calls is None:
            held = self._gathered.get(id(conn))
            if held is not None:
                held.extend(batch)
                return
        if not batch:
            if along is not None:
                await conn.execute(along[0], *along[1])
            return
        rows = _audit_rows(batch, calls)
        await self._write(conn, [*batch, *map(_recorded, rows)], rows, along)

    async def add_audit(self, conn: asyncpg.Connection, entities: Sequence[str], what: str) -> None:
        """The audit row of a change that publishes no event of its own (`what`
        names it, as an event type would: "sy.access.token.created")."""
        call = audit.current()
        if call is not None:
            row = audit.row(call, entities, [what])
            await self._write(conn, [_recorded(row)], [row], None)

    async def _write(
        self,
        conn: asyncpg.Connection,
        batch: Sequence[Event],
        rows: Sequence[access_pb2.AuditRecord],
        along: Along | None,
    ) -> None:
        sql, args = along if along is not None else (None, ())
        await conn.execute(
            _insert_sql(sql, len(args) + 1, bool(rows)),
            *args,
            [e.id for e in batch],
            [e.type for e in batch],
            [json.dumps(events.encode_headers(e)) for e in batch],
            [e.data.SerializeToString() for e in batch],
            *(audit.columns(rows) if rows else ()),
        )
        if conn.is_in_transaction() and hasattr(conn, "after_commit"):
            conn.after_commit(self.on_commit)
        else:  # the statement was its own transaction, committed now
            self.on_commit()


def _audit_rows(
    batch: Sequence[Event], calls: Sequence[audit.Call | None] | None
) -> list[access_pb2.AuditRecord]:
    """One row per call the events were written for (none for work no call began)."""
    if calls is None:
        call = audit.current()
        return [] if call is None else [audit.row(call, *_what(batch))]
    grouped: dict[int, tuple[audit.Call, list[Event]]] = {}
    for event, each in zip(batch, calls, strict=True):
        if each is not None:
            grouped.setdefault(id(each), (each, []))[1].append(event)
    return [audit.row(call, *_what(events)) for call, events in grouped.values()]


def _what(batch: Sequence[Event]) -> tuple[list[str], list[str]]:
    return [e.subject for e in batch], [e.type for e in batch]


def _recorded(row: access_pb2.AuditRecord) -> Event:
    """The `sy.audit.recorded` event of one audit row's write."""
    return Outbox.event(et.AUDIT_RECORDED, row.audit_id, row)


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

    def wake(self) -> None:
        """Relay now (a transaction of this process wrote events)."""
        self._wake.set()

    async def run(self) -> None:
        last_cleanup = 0.0
        while True:
            self._wake.clear()  # before the pass: a wake during it means another
            try:
                while (published := await self._relay_pass()) in (None, self.batch_size):
                    if published is None:  # another replica is relaying: try again soon
                        await asyncio.sleep(LOCK_RETRY_S)
                if time.monotonic() - last_cleanup > 60:
                    await self._cleanup()
                    last_cleanup = time.monotonic()
            except TRANSIENT as exc:
                # The bus or database is away; keep the rows and retry.
                log.warning("outbox relay retrying", extra={"error": repr(exc)})
                if isinstance(exc, NoStreamResponseError):  # NATS came back empty
                    await self._recreate_stream()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            # A moment for the burst a wake often starts: one pass publishes it
            # all instead of one pass per commit (as a producer's linger).
            await asyncio.sleep(LINGER_S)

    async def _recreate_stream(self) -> None:
        with contextlib.suppress(*TRANSIENT):
            await self.bus.ensure_events_stream()

    async def relay_once(self) -> int:
        """Publish one batch of pending events; return how many (0 if another relays)."""
        return await self._relay_pass() or 0

    async def _relay_pass(self) -> int | None:
        """One batch: how many were published, None if another replica holds the lock.

        Two statements besides BEGIN/COMMIT: the batch under the relay lock,
        and marking it with the backlog left.
        """
        async with self.db.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_PENDING, self.batch_size, self._lock)
            if not rows[0]["held"]:
                return None
            if rows[0]["seq"] is None:
                BACKLOG.labels(self.db.schema).set(0)  # none pending, and the lock held
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
