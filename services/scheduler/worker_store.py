"""SQL for trainer-workers (membership, heartbeats) and job logs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from switchyard.core import event_types as et
from switchyard.core.db import Database
from switchyard.core.outbox import Outbox
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.scheduler import events
from switchyard.services.scheduler.job_changes import FINAL, to_job
from switchyard.services.scheduler.store import WORKER_TTL_S

# Alive as admission sees them: a heartbeat within WORKER_TTL_S.
_LIVE_WORKERS = """
SELECT *, (extract(epoch FROM last_seen) * 1000)::bigint AS last_seen_ms FROM workers
WHERE last_seen > now() - make_interval(secs => $1) AND ($2 = '' OR pool = $2)
ORDER BY pool, worker_id
"""


def _worker(row: asyncpg.Record) -> pb.Worker:
    capacity = pb.Resources(
        cpus=row["cpus"], memory_mb=row["memory_mb"], gpus=row["gpus"], gpu_type=row["gpu_type"]
    )
    return pb.Worker(
        worker_id=row["worker_id"],
        pool=row["pool"],
        host=row["host"],
        capacity=capacity,
        used=pb.Resources(),
        last_seen_ms=row["last_seen_ms"],
    )


class WorkerStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    async def register(self, req: pb.RegisterWorkerRequest) -> None:
        c = req.capacity
        async with self.db.pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                "INSERT INTO workers (worker_id, pool, host, cpus, memory_mb, gpus, gpu_type)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)"
                " ON CONFLICT (worker_id) DO UPDATE SET pool = $2, host = $3, cpus = $4,"
                " memory_mb = $5, gpus = $6, gpu_type = $7, last_seen = now()"
                " RETURNING xmax = 0",
                req.worker_id,
                req.pool,
                req.host,
                c.cpus,
                c.memory_mb,
                c.gpus,
                c.gpu_type,
            )
            if inserted:
                await events.worker_changed(
                    self.outbox, conn, et.WORKER_JOINED, req.worker_id, req.pool, c, req.host
                )

    async def heartbeat(
        self, worker_id: str, jobs: Sequence[pb.RunningJob]
    ) -> pb.HeartbeatResponse:
        """Mark the worker alive; say which of its job attempts it must stop.

        By attempt, not by job: one worker may run a rank of an old attempt
        (stopping) and a rank of the job's next one at the same time.
        """
        async with self.db.pool.acquire() as conn:
            known = await conn.fetchval(
                "UPDATE workers SET last_seen = now() WHERE worker_id = $1 RETURNING true",
                worker_id,
            )
            if not jobs:
                return pb.HeartbeatResponse(unknown_worker=not known)
            rows = await conn.fetch(
                "SELECT job_id, state, attempt, cancel_requested FROM jobs WHERE job_id = ANY($1)",
                [uuid.UUID(hex=j.job_id) for j in jobs],
            )
        current = {r["job_id"].hex: r for r in rows}
        stop = []
        for j in jobs:
            r = current.get(j.job_id)
            if r is None or r["cancel_requested"] or r["state"] in FINAL:
                stop.append(j)
            elif r["state"] != "RUNNING" or r["attempt"] != j.attempt:
                stop.append(j)  # a newer attempt (a retry, a restarted gang) owns the job
        return pb.HeartbeatResponse(
            stop=stop,
            cancel_job_ids=sorted({j.job_id for j in stop}),
            unknown_worker=not known,
        )

    async def reap(self) -> list[str]:
        """Forget workers that stopped heartbeating; publish that they are lost; their ids."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "DELETE FROM workers WHERE last_seen < now() - make_interval(secs => $1)"
                " RETURNING *",
                WORKER_TTL_S,
            )
            for r in rows:
                capacity = pb.Resources(
                    cpus=r["cpus"], memory_mb=r["memory_mb"], gpus=r["gpus"], gpu_type=r["gpu_type"]
                )
                await events.worker_changed(
                    self.outbox,
                    conn,
                    et.WORKER_LOST,
                    r["worker_id"],
                    r["pool"],
                    capacity,
                    r["host"],
                )
            return [r["worker_id"] for r in rows]

    async def live(self, pool: str) -> list[pb.Worker]:
        """The workers that heartbeat (in `pool`, or all), with their RUNNING jobs."""
        async with self.db.pool.acquire() as conn, conn.transaction(readonly=True):
            workers = await conn.fetch(_LIVE_WORKERS, WORKER_TTL_S, pool)
            jobs = await conn.fetch(
                "SELECT * FROM jobs WHERE state = 'RUNNING' AND worker_id = ANY($1)"
                " ORDER BY started_ms",
                [w["worker_id"] for w in workers],
            )
        found = {w["worker_id"]: _worker(w) for w in workers}
        for row in jobs:
            job = to_job(row)
            worker = found[row["worker_id"]]
            worker.jobs.append(job)
            used, need = worker.used, job.spec.resources
            used.cpus, used.memory_mb, used.gpus = (
                used.cpus + need.cpus,
                used.memory_mb + need.memory_mb,
                used.gpus + need.gpus,
            )
        return list(found.values())

    async def append_logs(self, req: pb.AppendLogsRequest) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO job_logs (job_id, attempt, rank, stream, text)"
                " VALUES ($1, $2, $3, $4, $5)",
                uuid.UUID(hex=req.job_id),
                req.attempt,
                req.rank,
                req.stream,
                req.text,
            )
            await events.job_logged(self.outbox, conn, req)

    async def logs(self, job_id: uuid.UUID, after_seq: int) -> tuple[str, int]:
        rows = await self.db.pool.fetch(
            "SELECT seq, text FROM job_logs WHERE job_id = $1 AND seq > $2"
            " ORDER BY seq LIMIT 10000",
            job_id,
            after_seq,
        )
        if not rows:
            return "", after_seq
        return "".join(r["text"] for r in rows), rows[-1]["seq"]
