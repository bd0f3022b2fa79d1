"""What the audit log adds to a write: the same outbox write with and without its row.

    python tests/bench/bench_audit.py [--writes 2000]

A change's audit row is written in the statement that writes its events
(`Outbox.add_events`, switchyard.core.audit). This times that statement in
one transaction per write, as a service's change does (a row updated plus
its event), against a durable embedded PostgreSQL on this machine: inside
an RPC's call (the event, its audit row and its `sy.audit.recorded` event)
and outside one (the event alone, as before the audit log), interleaved so
that drift lands on both. Medians per write.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from switchyard.core import audit
from switchyard.core import event_types as et
from switchyard.core.db import Database
from switchyard.core.outbox import MIGRATION, Outbox
from switchyard.dev.postgres import EmbeddedPostgres
from switchyard.proto.v1 import events_pb2 as ev


async def bench(url: str, writes: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"without": [], "with": []}
    async with Database(url, "bench_audit") as db:
        await db.migrate([MIGRATION, audit.MIGRATION])
        await db.pool.execute("CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY, n int)")
        await db.pool.execute("INSERT INTO t VALUES (1, 0) ON CONFLICT DO NOTHING")
        outbox = Outbox()
        for i in range(writes):
            for label in ("without", "with") if i % 2 else ("with", "without"):
                if label == "with":
                    audit.begin("/switchyard.v1.TrackingService/SetTag")
                else:
                    audit.CALL.set(None)
                start = time.perf_counter()
                async with db.pool.acquire() as conn, conn.transaction():
                    await conn.execute("UPDATE t SET n = n + 1 WHERE id = 1")
                    event = ev.RunChanged()
                    await outbox.add(conn, et.RUN_UPDATED, f"run-{i}", event)
                out[label].append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg").start()
        try:
            times = asyncio.run(bench(pg.url, args.writes))
        finally:
            pg.stop()
    without, with_ = (statistics.median(times[k]) for k in ("without", "with"))
    print(f"a write and its event, no audit row     median {without:.3f} ms")
    print(f"the same with its audit row             median {with_:.3f} ms")
    print(f"the audit log adds                              {with_ - without:+.3f} ms per write")


if __name__ == "__main__":
    main()
