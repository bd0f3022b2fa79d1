"""All SQL of queues: their limits, pause, what their jobs hold and wait for.

A queue's limits bound what its ADMITTED and RUNNING jobs hold together
(admission.py's `Quota`); NULL is no limit. Pausing stops admission from
the queue and cancels nothing. A queue is deleted only with no job queued
or running in it; its ended jobs keep its name. Submits read limits
through a short cache (`limits`) that this store forgets on each change.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg

from switchyard.core.db import Database
from switchyard.core.outbox import Outbox
from switchyard.errors import AlreadyExists, FailedPrecondition, NotFound
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.scheduler.admission import Need, Quota
from switchyard.services.scheduler.validation import QUEUE_LIMITS

LIMITS_TTL_S = 1.0
# What an audit row of a queue change names (queues publish no events of their own).
QUEUE_CHANGED = "sy.scheduler.queue.changed"
QUEUE_DELETED = "sy.scheduler.queue.deleted"
DEFAULT_QUEUE = "default"

# Usage as admission counts it against a quota: every gang member of the
# ADMITTED and RUNNING jobs (admission_store.py's _CLUSTER).
_QUEUES = """
SELECT q.name, q.max_cpus, q.max_gpus, q.max_memory_mb, q.max_jobs, q.paused,
       coalesce(sum(j.cpus * j.gang_size) FILTER (WHERE j.state IN ('ADMITTED', 'RUNNING')), 0)
           AS used_cpus,
       coalesce(sum(j.gpus * j.gang_size) FILTER (WHERE j.state IN ('ADMITTED', 'RUNNING')), 0)::int
           AS used_gpus,
       coalesce(sum(j.memory_mb * j.gang_size)
           FILTER (WHERE j.state IN ('ADMITTED', 'RUNNING')), 0)::bigint AS used_memory_mb,
       count(j.job_id) FILTER (WHERE j.state IN ('ADMITTED', 'RUNNING'))::int AS active,
       count(j.job_id) FILTER (WHERE j.state IN ('QUEUED', 'RETRYING'))::int AS waiting,
       coalesce(min(j.created_ms) FILTER (WHERE j.state IN ('QUEUED', 'RETRYING')), 0)
           AS oldest_waiting_ms
FROM queues q
LEFT JOIN jobs j ON j.queue = q.name AND j.state IN ('QUEUED', 'RETRYING', 'ADMITTED', 'RUNNING')
WHERE $1::text IS NULL OR q.name = $1
GROUP BY q.name ORDER BY q.name
"""


def quota_of(row: Mapping[str, Any]) -> Quota:
    return Quota(
        max_cpus=row["max_cpus"],
        max_gpus=row["max_gpus"],
        max_memory_mb=row["max_memory_mb"],
        max_jobs=row["max_jobs"],
        paused=row["paused"],
    )


def _missing(name: str) -> NotFound:
    return NotFound(f"queue '{name}' does not exist", entity="queue")


def _to_queue(r: Mapping[str, Any]) -> pb.Queue:
    return pb.Queue(
        name=r["name"],
        max_cpus=r["max_cpus"] or 0,
        max_gpus=r["max_gpus"] or 0,
        max_memory_mb=r["max_memory_mb"] or 0,
        max_jobs=r["max_jobs"] or 0,
        paused=r["paused"],
        used_cpus=r["used_cpus"],
        used_gpus=r["used_gpus"],
        used_memory_mb=r["used_memory_mb"],
        active_jobs=r["active"],
        waiting_jobs=r["waiting"],
        oldest_waiting_ms=r["oldest_waiting_ms"],
    )


class QueueStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox  # queues publish no events, but their changes are audited
        self._limits: dict[str, tuple[float, Quota | None]] = {}  # name -> (read at, limits)

    async def put(self, name: str, max_cpus: float | None, max_gpus: int | None) -> None:
        """PutQueue: create the queue, or replace its CPU and GPU limits."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO queues (name, max_cpus, max_gpus) VALUES ($1, $2, $3)"
                " ON CONFLICT (name) DO UPDATE SET max_cpus = $2, max_gpus = $3",
                name,
                max_cpus,
                max_gpus,
            )
            await self.outbox.add_audit(conn, [name], QUEUE_CHANGED)
        self._limits.pop(name, None)

    async def create(self, name: str, limits: Mapping[str, float | None]) -> pb.Queue:
        """A new queue with `limits` (by column; None: no limit), not paused."""
        try:
            async with self.db.pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO queues (name, max_cpus, max_gpus, max_memory_mb, max_jobs)"
                    " VALUES ($1, $2, $3, $4, $5)",
                    name,
                    *(limits.get(k) for k in QUEUE_LIMITS),
                )
                await self.outbox.add_audit(conn, [name], QUEUE_CHANGED)
        except asyncpg.UniqueViolationError:
            raise AlreadyExists(f"queue '{name}' already exists", entity="queue") from None
        self._limits.pop(name, None)
        return await self.get(name)

    async def get(self, name: str) -> pb.Queue:
        row = await self.db.pool.fetchrow(_QUEUES, name)
        if row is None:
            raise _missing(name)
        return _to_queue(row)

    async def list(self) -> list[pb.Queue]:
        """Every queue by name, with what its jobs hold (as admission counts it) and wait for."""
        return [_to_queue(r) for r in await self.db.pool.fetch(_QUEUES, None)]

    async def update(self, name: str, changes: Mapping[str, float | bool | None]) -> pb.Queue:
        """Set the columns in `changes` (limits, None lifting one; `paused`).

        Refused, changing nothing, where a job waiting in the queue would no
        longer ever fit: it would wait for ever.
        """
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow("SELECT * FROM queues WHERE name = $1 FOR UPDATE", name)
            if row is None:
                raise _missing(name)
            if any(column in QUEUE_LIMITS for column in changes):  # a pause always goes
                await self._check_waiting(conn, name, quota_of({**dict(row), **changes}))
            if changes:
                sets = ", ".join(f"{column} = ${i + 2}" for i, column in enumerate(changes))
                await conn.execute(
                    f"UPDATE queues SET {sets} WHERE name = $1",  # columns: validation's names
                    name,
                    *changes.values(),
                )
                await self.outbox.add_audit(conn, [name], QUEUE_CHANGED)
        self._limits.pop(name, None)
        return await self.get(name)

    @staticmethod
    async def _check_waiting(conn: asyncpg.Connection, name: str, quota: Quota) -> None:
        shapes = await conn.fetch(
            "SELECT cpus, memory_mb, gpus, gang_size, count(*) AS n FROM jobs"
            " WHERE queue = $1 AND state IN ('QUEUED', 'RETRYING') AND NOT cancel_requested"
            " GROUP BY cpus, memory_mb, gpus, gang_size",
            name,
        )
        refused = []
        for s in shapes:
            need = Need(s["cpus"], s["memory_mb"], s["gpus"])
            if (why := quota.refusal(name, need, s["gang_size"])) is not None:
                refused.append((why, s["n"]))
        if refused:
            first = refused[0][0]
            raise FailedPrecondition(
                f"{_jobs(sum(n for _, n in refused))} waiting in queue '{name}' would never"
                f" fit: one {first.message}; cancel them first, or keep a higher limit",
                field=first.limit,
            )

    async def delete(self, name: str) -> None:
        """Delete a queue with no job queued or running in it (not `default`)."""
        if name == DEFAULT_QUEUE:
            raise FailedPrecondition(
                "queue 'default' cannot be deleted: jobs that name no queue go there",
                field="name",
            )
        async with self.db.pool.acquire() as conn, conn.transaction():
            if await conn.fetchval("SELECT 1 FROM queues WHERE name = $1 FOR UPDATE", name) is None:
                raise _missing(name)
            waiting, active = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE state IN ('QUEUED', 'RETRYING')),"
                " count(*) FILTER (WHERE state IN ('ADMITTED', 'RUNNING'))"
                " FROM jobs WHERE queue = $1"
                " AND state IN ('QUEUED', 'RETRYING', 'ADMITTED', 'RUNNING')",
                name,
            )
            if waiting or active:
                raise FailedPrecondition(
                    f"queue '{name}' has {_jobs(waiting)} queued and {active} running;"
                    " cancel them or wait for them to end, then delete it",
                    field="name",
                )
            await conn.execute("DELETE FROM queues WHERE name = $1", name)
            await self.outbox.add_audit(conn, [name], QUEUE_DELETED)
        self._limits.pop(name, None)

    async def limits(
        self, conn: asyncpg.Pool | asyncpg.Connection, names: Iterable[str], *, fresh: bool
    ) -> dict[str, Quota | None]:
        """Each queue's limits (None: no such queue), read again where older than
        `LIMITS_TTL_S` (or all if `fresh`)."""
        now, wanted = time.monotonic(), set(names)
        stale = [
            n for n in wanted if fresh or now - self._limits.get(n, (-1e9, None))[0] >= LIMITS_TTL_S
        ]
        if stale:
            rows = await conn.fetch("SELECT * FROM queues WHERE name = ANY($1)", stale)
            found = {r["name"]: quota_of(r) for r in rows}
            self._limits.update((n, (now, found.get(n))) for n in stale)
        return {n: self._limits[n][1] for n in wanted}


def _jobs(count: int) -> str:
    return f"{count} job" + ("" if count == 1 else "s")
