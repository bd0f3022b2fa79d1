"""All SQL of admission and release: one pass decides which pending jobs start now.

A pass is one transaction of three statements under the admission lock
(one scheduler replica at a time): the pending jobs, a snapshot of the
cluster (quotas in use, workers' free room, admitted jobs not started),
and the admitted jobs' new state with their release rows. The releases are
published after the commit (dispatch.py); a crash in between loses nothing,
as the rows stay pending until marked.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from switchyard.core.db import Database, lock_key
from switchyard.core.ids import now_ms
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.scheduler import metrics
from switchyard.services.scheduler.admission import Cluster, Need, Pending, Slot
from switchyard.services.scheduler.queue_store import quota_of
from switchyard.services.scheduler.store import WORKER_TTL_S

_ADMISSION_LOCK = lock_key("scheduler:admission")

# The pending jobs in admission order, only while this pass holds the lock;
# a paused queue's are not read, so they cannot crowd out the others'.
_PENDING = """
WITH admission AS (SELECT pg_try_advisory_xact_lock($1) AS held)
SELECT job_id, queue, pool, spec, cpus, memory_mb, gpus, gang_size, release_gen, master_port,
       trace, created_ms
FROM jobs, admission
WHERE admission.held AND state IN ('QUEUED', 'RETRYING') AND NOT cancel_requested
  AND NOT EXISTS (SELECT 1 FROM queues q WHERE q.name = jobs.queue AND q.paused)
ORDER BY priority DESC, seq LIMIT 1000
"""

# The cluster in one round trip, one row per queue (its limits, and what its
# admitted and running jobs hold), live worker (room left by its running
# jobs) and admitted job (not started).
_CLUSTER = """
SELECT 'queue' AS kind, q.name, '' AS pool, q.max_cpus, q.max_gpus, q.max_memory_mb, q.max_jobs,
       q.paused, coalesce(sum(j.cpus * j.gang_size), 0) AS cpus,
       coalesce(sum(j.memory_mb * j.gang_size), 0)::bigint AS memory_mb,
       coalesce(sum(j.gpus * j.gang_size), 0)::int AS gpus, '' AS gpu_type, 0 AS gang_size,
       count(j.job_id)::int AS jobs
FROM queues q LEFT JOIN jobs j ON j.queue = q.name AND j.state IN ('ADMITTED', 'RUNNING')
GROUP BY q.name
UNION ALL
SELECT 'worker', w.worker_id, w.pool, NULL, NULL, NULL, NULL, NULL,
       w.cpus - coalesce(sum(j.cpus), 0), w.memory_mb - coalesce(sum(j.memory_mb), 0)::bigint,
       w.gpus - coalesce(sum(j.gpus), 0)::int, w.gpu_type, 0, 0
FROM workers w LEFT JOIN jobs j ON j.worker_id = w.worker_id AND j.state = 'RUNNING'
WHERE w.last_seen > now() - make_interval(secs => $1)
GROUP BY w.worker_id
UNION ALL
SELECT 'admitted', '', pool, NULL, NULL, NULL, NULL, NULL, cpus, memory_mb, gpus, '', gang_size, 0
FROM jobs WHERE state = 'ADMITTED'
"""

# Admitted jobs and their releases together; a job cancelled since it was read
# is neither admitted nor released.
_ADMIT = """
WITH admitted AS (
    UPDATE jobs SET state = 'ADMITTED', release_gen = u.gen, master_port = u.port
    FROM unnest($1::uuid[], $2::int[], $3::int[]) AS u (job_id, gen, port)
    WHERE jobs.job_id = u.job_id AND jobs.state IN ('QUEUED', 'RETRYING')
      AND NOT jobs.cancel_requested
    RETURNING jobs.job_id
)
INSERT INTO releases (job_id, pool, rank, payload)
SELECT r.job_id, r.pool, r.rank, r.payload
FROM unnest($4::uuid[], $5::text[], $6::int[], $7::bytea[]) AS r (job_id, pool, rank, payload)
WHERE r.job_id IN (SELECT job_id FROM admitted)
RETURNING id, pool, payload, job_id
"""


class AdmissionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def admit(self) -> list[asyncpg.Record]:
        """One admission pass; returns the release rows it wrote (id, pool, payload)."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_PENDING, _ADMISSION_LOCK)
            if not rows:
                return []
            cluster = _cluster(await conn.fetch(_CLUSTER, WORKER_TTL_S))
            by_id = {r["job_id"]: r for r in rows}
            admitted = cluster.admit([_pending(r) for r in rows])
            if not admitted:
                return []
            released = await conn.fetch(_ADMIT, *_admission([by_id[p.job_id] for p in admitted]))
        _count([by_id[job_id] for job_id in {r["job_id"] for r in released}])  # committed
        return released

    async def pending_releases(self, limit: int = 512) -> list[asyncpg.Record]:
        return await self.db.pool.fetch(
            "SELECT id, pool, payload FROM releases WHERE published_at IS NULL"
            " ORDER BY id LIMIT $1",
            limit,
        )

    async def mark_released(self, ids: Sequence[int]) -> None:
        """Without waiting for the WAL flush: a mark lost in a crash means the release
        is published again, and JetStream drops the copy by its Nats-Msg-Id."""
        await self.db.pool.execute(
            "WITH async AS (SELECT set_config('synchronous_commit', 'off', true))"
            " UPDATE releases SET published_at = now() FROM async WHERE id = ANY($1)",
            list(ids),
        )

    async def release_pools(self) -> list[str]:
        return [r["pool"] for r in await self.db.pool.fetch("SELECT DISTINCT pool FROM releases")]

    async def unpublish_lost(self, pool: str, stream_created: datetime) -> int:
        """Mark pending again the releases published before the pool's stream
        existed whose rank has not started: NATS lost them."""
        status = await self.db.pool.execute(
            "UPDATE releases r SET published_at = NULL FROM jobs j"
            " WHERE r.pool = $1 AND r.published_at < $2 AND j.job_id = r.job_id"
            " AND j.state = 'ADMITTED' AND NOT r.rank = ANY (j.started_ranks)",
            pool,
            stream_created,
        )
        return int(status.split()[-1])

    async def forget_releases(self) -> None:
        await self.db.pool.execute(
            "DELETE FROM releases WHERE published_at < now() - interval '10 minutes'"
        )


def _count(jobs: Sequence[asyncpg.Record]) -> None:
    now = now_ms()
    for job in jobs:
        first = job["release_gen"] == 0
        metrics.admitted(job["queue"], (now - job["created_ms"]) / 1000 if first else None)


def _pending(row: asyncpg.Record) -> Pending:
    # The spec is parsed only for the GPU type: the other needs are columns.
    gpu_type = pb.JobSpec.FromString(row["spec"]).resources.gpu_type if row["gpus"] else ""
    need = Need(row["cpus"], row["memory_mb"], row["gpus"], gpu_type)
    return Pending(row["job_id"], row["queue"], row["pool"], need, row["gang_size"])


def _cluster(rows: Sequence[asyncpg.Record]) -> Cluster:
    cluster = Cluster()
    for q in (r for r in rows if r["kind"] == "queue"):
        quota = quota_of(q)
        quota.used_cpus, quota.used_gpus = q["cpus"], q["gpus"]
        quota.used_memory_mb, quota.used_jobs = q["memory_mb"], q["jobs"]
        cluster.quotas[q["name"]] = quota
    for w in sorted((r for r in rows if r["kind"] == "worker"), key=lambda r: r["name"]):
        slot = Slot(w["name"], w["cpus"], w["memory_mb"], w["gpus"], w["gpu_type"])
        cluster.pools.setdefault(w["pool"], []).append(slot)
    # Admitted jobs not yet started hold room too: place them first.
    for a in (r for r in rows if r["kind"] == "admitted"):
        cluster.place(a["pool"], Need(a["cpus"], a["memory_mb"], a["gpus"]), a["gang_size"])
    return cluster


def _admission(rows: Sequence[asyncpg.Record]) -> tuple[list[object], ...]:
    """`_ADMIT`'s arguments: each job's next release generation and rendezvous port,
    and a release row per gang member.

    Each admission is a new release generation. A re-admitted job (a retry,
    a gang restart) gets a new port too: ranks of the old attempt may still
    hold the old one while they stop.
    """
    now = now_ms()
    jobs: tuple[list[object], ...] = ([], [], [])
    releases: tuple[list[object], ...] = ([], [], [], [])
    for row in rows:
        job_id: uuid.UUID = row["job_id"]
        generation = row["release_gen"] + 1
        port = row["master_port"] if row["release_gen"] == 0 else random.randint(20_000, 59_999)
        for column, value in zip(jobs, (job_id, generation, port), strict=True):
            column.append(value)
        spec = pb.JobSpec.FromString(row["spec"])
        for rank in range(row["gang_size"]):
            release = pb.JobRelease(
                job_id=job_id.hex,
                rank=rank,
                spec=spec,
                released_ms=now,
                master_port=port,
                generation=generation,
                trace=json.loads(row["trace"]),
            )
            values = (job_id, row["pool"], rank, release.SerializeToString())
            for column, value in zip(releases, values, strict=True):
                column.append(value)
    return (*jobs, *releases)
