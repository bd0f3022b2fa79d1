"""All SQL of the scheduler: jobs, queues, releases (workers and logs: worker_store.py).

Every state transition is one transaction that writes the job's event to
the outbox; guards on the locked row (state, attempt, release generation)
make repeated or stale reports change nothing, so a job reaches exactly one
final state. A lost worker (its message redelivered) is not a failed
attempt: see `_worker_lost` (a gang restarts whole).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg

from switchyard.core.db import Database, lock_key
from switchyard.core.ids import now_ms, uuid7
from switchyard.core.outbox import Outbox
from switchyard.errors import FailedPrecondition, InvalidArgument, NotFound
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.scheduler import events
from switchyard.services.scheduler.admission import Cluster, Need, Pending, Quota, Slot

FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
WORKER_TTL_S = 10.0
_STATE = {name.removeprefix("JOB_"): value for name, value in pb.JobState.items()}
_ADMISSION_LOCK = lock_key("scheduler:admission")


def to_job(row: Mapping[str, Any]) -> pb.Job:
    job = pb.Job(
        job_id=row["job_id"].hex,
        spec=pb.JobSpec.FromString(row["spec"]),
        state=_STATE[row["state"]],  # type: ignore[arg-type]
        attempt=row["attempt"],
        message=row["message"],
        worker_id=row["worker_id"],
        run_id=row["run_id"],
        created_ms=row["created_ms"],
        started_ms=row["started_ms"],
        finished_ms=row["finished_ms"],
        retries=row["retries"],
        worker_losses=row["worker_losses"],
        cancel_requested=row["cancel_requested"],
        outputs=json.loads(row["outputs"]),
        pipeline_id=row["pipeline_id"].hex if row["pipeline_id"] else "",
        step=row["step"],
    )
    if row["exit_code"] is not None:
        job.has_exit_code, job.exit_code = True, row["exit_code"]
    return job


def need_of(spec: pb.JobSpec) -> Need:
    r = spec.resources
    return Need(r.cpus, r.memory_mb, r.gpus, r.gpu_type)


FinalHook = Callable[[asyncpg.Connection, pb.Job], Awaitable[None]]


class SchedulerStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox
        # Runs in the transaction that made a pipeline's job final (pipeline_store.py).
        self.on_pipeline_job_final: FinalHook | None = None

    async def _set(self, conn: asyncpg.Connection, job_id: uuid.UUID, **cols: Any) -> pb.Job:
        """Update columns of a (locked) job row, write its event, return it."""
        names = list(cols)
        assigns = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
        row = await conn.fetchrow(
            f"UPDATE jobs SET {assigns} WHERE job_id = $1 RETURNING *", job_id, *cols.values()
        )
        job = to_job(row)
        if "state" in cols:
            await events.job_changed(self.outbox, conn, job)
            final = cols["state"] in FINAL
            if final and job.pipeline_id and self.on_pipeline_job_final is not None:
                await self.on_pipeline_job_final(conn, job)
        return job

    async def _locked(self, conn: asyncpg.Connection, job_id: uuid.UUID) -> asyncpg.Record:
        row = await conn.fetchrow("SELECT * FROM jobs WHERE job_id = $1 FOR UPDATE", job_id)
        if row is None:
            raise NotFound(f"job '{job_id.hex}' does not exist", entity="job")
        return row

    # -- queues -----------------------------------------------------------------

    async def put_queue(self, name: str, max_cpus: float | None, max_gpus: int | None) -> None:
        await self.db.pool.execute(
            "INSERT INTO queues (name, max_cpus, max_gpus) VALUES ($1, $2, $3)"
            " ON CONFLICT (name) DO UPDATE SET max_cpus = $2, max_gpus = $3",
            name,
            max_cpus,
            max_gpus,
        )

    # -- jobs -------------------------------------------------------------------

    async def submit(self, spec: pb.JobSpec) -> pb.Job:
        async with self.db.pool.acquire() as conn, conn.transaction():
            return await self.insert_job(conn, spec)

    async def insert_job(
        self,
        conn: asyncpg.Connection,
        spec: pb.JobSpec,
        pipeline_id: uuid.UUID | None = None,
        step: str = "",
    ) -> pb.Job:
        """A new QUEUED job and its event, in the caller's transaction.

        An unknown queue is caught by the jobs -> queues foreign key rather
        than by a lookup first: one round trip less on every submit.
        """
        await self._check_fits_pool(conn, spec)
        try:
            row = await self._insert_row(conn, spec, pipeline_id, step)
        except asyncpg.ForeignKeyViolationError as exc:
            if exc.constraint_name != "jobs_queue_fkey":
                raise
            raise InvalidArgument(f"queue '{spec.queue}' does not exist", field="queue") from exc
        job = to_job(row)
        await events.job_changed(self.outbox, conn, job)
        return job

    async def _insert_row(
        self,
        conn: asyncpg.Connection,
        spec: pb.JobSpec,
        pipeline_id: uuid.UUID | None,
        step: str,
    ) -> asyncpg.Record:
        r = spec.resources
        return await conn.fetchrow(
            "INSERT INTO jobs (job_id, spec, name, pool, queue, priority, cpus, memory_mb,"
            " gpus, gang_size, state, created_ms, master_port, pipeline_id, step)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'QUEUED', $11, $12, $13, $14)"
            " RETURNING *",
            uuid7(),
            spec.SerializeToString(),
            spec.name,
            spec.pool,
            spec.queue,
            spec.priority,
            r.cpus,
            r.memory_mb,
            r.gpus,
            spec.gang_size,
            now_ms(),
            random.randint(20_000, 60_000),
            pipeline_id,
            step,
        )

    async def _check_fits_pool(self, conn: asyncpg.Connection, spec: pb.JobSpec) -> None:
        """A job larger than the pool's live workers together can never start: refuse it."""
        rows = await conn.fetch(
            "SELECT worker_id, cpus, memory_mb, gpus, gpu_type FROM workers"
            " WHERE pool = $1 AND last_seen > now() - make_interval(secs => $2)",
            spec.pool,
            WORKER_TTL_S,
        )
        if not rows:
            return  # no worker yet: the job waits for one
        capacity = [
            Slot(r["worker_id"], r["cpus"], r["memory_mb"], r["gpus"], r["gpu_type"]) for r in rows
        ]
        if not Cluster().could_ever_fit(spec.pool, need_of(spec), spec.gang_size, capacity):
            field = "gang_size" if spec.gang_size > 1 else "resources"
            raise FailedPrecondition(
                f"{field}: {spec.gang_size} x {need_of(spec)} is more than pool '{spec.pool}'"
                f" has ({len(rows)} workers)",
                field=field,
            )

    async def get(self, job_id: uuid.UUID) -> pb.Job:
        row = await self.db.pool.fetchrow("SELECT * FROM jobs WHERE job_id = $1", job_id)
        if row is None:
            raise NotFound(f"job '{job_id.hex}' does not exist", entity="job")
        return to_job(row)

    async def list_jobs(
        self, queue: str, states: Sequence[str], name: str, limit: int
    ) -> list[pb.Job]:
        rows = await self.db.pool.fetch(
            "SELECT * FROM jobs WHERE ($1 = '' OR queue = $1)"
            " AND (cardinality($2::text[]) = 0 OR state = ANY($2)) AND ($3 = '' OR name = $3)"
            " ORDER BY seq DESC LIMIT $4",
            queue,
            list(states),
            name,
            limit,
        )
        return [to_job(r) for r in rows]

    async def cancel(self, job_id: uuid.UUID) -> pb.Job:
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, job_id)
            if row["state"] in FINAL:
                return to_job(row)
            if row["state"] == "RUNNING":  # the worker stops it and reports
                return await self._set(conn, job_id, cancel_requested=True)
            return await self._set(
                conn,
                job_id,
                state="CANCELLED",
                cancel_requested=True,
                message="cancelled before it started",
                finished_ms=now_ms(),
            )

    # -- reports from workers ---------------------------------------------------

    async def start(
        self, job_id: uuid.UUID, rank: int, worker_id: str, host: str, generation: int = 0
    ) -> pb.StartJobResponse:
        """A worker is about to run `rank` of the job from the release of `generation`.

        proceed=False tells it to ack and drop the message: the job is final,
        cancelled or waiting for admission, the release is stale (the job was
        released again since; generation 0, from a worker that predates
        generations, is taken as current), or the message came back because
        a gang member lost its worker and the whole gang restarts.
        """
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, job_id)
            state = row["state"]
            stale = generation and generation != row["release_gen"]
            if stale or state in FINAL or state in ("QUEUED", "RETRYING"):
                return pb.StartJobResponse(proceed=False, job=to_job(row))
            if row["cancel_requested"]:
                job = await self._set(
                    conn, job_id, state="CANCELLED", message="cancelled", finished_ms=now_ms()
                )
                return pb.StartJobResponse(proceed=False, job=job)
            if state == "RUNNING" and rank in row["started_ranks"]:
                job = await self._worker_lost(conn, row, rank, worker_id)
                if job.state != pb.JOB_RUNNING:
                    return pb.StartJobResponse(proceed=False, job=job)
            elif state == "ADMITTED":
                if rank > 0:
                    return pb.StartJobResponse(proceed=False, wait=True, job=to_job(row))
                job = await self._set(
                    conn,
                    job_id,
                    state="RUNNING",
                    attempt=row["attempt"] + 1,
                    worker_id=worker_id,
                    master_addr=host,
                    started_ranks=[0],
                    finished_ranks=0,
                    run_id="",
                    started_ms=now_ms(),
                )
            else:  # RUNNING: another gang member joins
                job = await self._set(conn, job_id, started_ranks=[*row["started_ranks"], rank])
            return pb.StartJobResponse(
                proceed=True,
                attempt=job.attempt,
                master_addr=row["master_addr"] or host,
                master_port=row["master_port"],
                job=job,
            )

    async def _worker_lost(
        self, conn: asyncpg.Connection, row: asyncpg.Record, rank: int, worker_id: str
    ) -> pb.Job:
        """A started rank's message came back: its worker died (or stopped acking).

        A loss does not count against max_retries; more than max_worker_losses
        fail the job. A single process goes on as the next attempt on the
        worker that got the message. A gang restarts whole, as a PyTorchJob
        does: back to RETRYING (the redelivered message is dropped) so
        admission releases every rank again, under a new generation, and rank
        0 starts the next attempt; the old attempt's ranks are told to stop
        by their heartbeats and their reports no longer match the attempt.
        """
        job_id, attempt = row["job_id"], row["attempt"]
        losses = row["worker_losses"] + 1
        spec = pb.JobSpec.FromString(row["spec"])
        if losses > spec.max_worker_losses:
            return await self._set(
                conn,
                job_id,
                state="FAILED",
                worker_losses=losses,
                message=f"lost its worker {losses} times",
                finished_ms=now_ms(),
            )
        if row["gang_size"] > 1:
            return await self._set(
                conn,
                job_id,
                state="RETRYING",
                worker_losses=losses,
                started_ranks=[],
                finished_ranks=0,
                message=f"attempt {attempt}: gang member {rank} lost its worker; the gang restarts",
            )
        return await self._set(
            conn,
            job_id,
            state="RUNNING",
            attempt=attempt + 1,
            worker_losses=losses,
            worker_id=worker_id,
            started_ranks=[rank],
            run_id="",
            started_ms=now_ms(),
        )

    async def finish(self, req: pb.FinishJobRequest) -> pb.Job:
        job_id = uuid.UUID(hex=req.job_id)
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, job_id)
            if row["state"] != "RUNNING" or row["attempt"] != req.attempt:
                return to_job(row)  # stale: another attempt owns the job now
            cols: dict[str, Any] = {"exit_code": req.exit_code}
            if req.outputs:
                cols["outputs"] = json.dumps(dict(req.outputs))
            if req.run_id:
                cols["run_id"] = req.run_id
            ok = req.exit_code == 0 and not req.reason
            if ok:
                done = row["finished_ranks"] + 1
                if done < row["gang_size"]:
                    return await self._set(conn, job_id, finished_ranks=done, **cols)
                return await self._set(
                    conn,
                    job_id,
                    state="SUCCEEDED",
                    finished_ranks=done,
                    finished_ms=now_ms(),
                    **cols,
                )
            if req.reason == "cancelled" or row["cancel_requested"]:
                return await self._set(
                    conn,
                    job_id,
                    state="CANCELLED",
                    message="cancelled",
                    finished_ms=now_ms(),
                    **cols,
                )
            why = req.reason or f"exit code {req.exit_code}"
            spec = pb.JobSpec.FromString(row["spec"])
            if row["retries"] < spec.max_retries:
                return await self._set(
                    conn,
                    job_id,
                    state="RETRYING",
                    retries=row["retries"] + 1,
                    started_ranks=[],
                    finished_ranks=0,
                    message=f"attempt {row['attempt']} failed: {why}",
                    **cols,
                )
            return await self._set(
                conn, job_id, state="FAILED", message=why, finished_ms=now_ms(), **cols
            )

    # -- admission and release --------------------------------------------------

    async def admit(self) -> list[asyncpg.Record]:
        """One admission pass under a lock (one scheduler replica at a time).

        Returns the release rows it wrote (id, pool, payload), to publish.
        """
        async with self.db.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _ADMISSION_LOCK):
                return []
            pending_rows = await conn.fetch(
                "SELECT job_id, queue, pool, spec, gang_size FROM jobs"
                " WHERE state IN ('QUEUED', 'RETRYING') AND NOT cancel_requested"
                " ORDER BY priority DESC, seq LIMIT 1000"
            )
            if not pending_rows:
                return []
            cluster = await self._cluster(conn)
            specs = {r["job_id"]: pb.JobSpec.FromString(r["spec"]) for r in pending_rows}
            pending = [
                Pending(
                    r["job_id"], r["queue"], r["pool"], need_of(specs[r["job_id"]]), r["gang_size"]
                )
                for r in pending_rows
            ]
            admitted = cluster.admit(pending)
            if not admitted:
                return []
            # Each admission is a new release generation. A re-admitted job (a
            # retry, a gang restart) gets a new rendezvous port too: ranks of
            # the old attempt may still hold the old one while they stop.
            updated = await conn.fetch(
                "UPDATE jobs SET state = 'ADMITTED', release_gen = release_gen + 1,"
                " master_port = CASE WHEN release_gen = 0 THEN master_port"
                "  ELSE 20000 + floor(random() * 40000)::int END"
                " WHERE job_id = ANY($1) RETURNING job_id, master_port, release_gen",
                [p.job_id for p in admitted],
            )
            by_id = {r["job_id"]: r for r in updated}
            now = now_ms()
            rows = [
                (
                    p.job_id,
                    p.pool,
                    rank,
                    pb.JobRelease(
                        job_id=p.job_id.hex,  # type: ignore[attr-defined]
                        rank=rank,
                        spec=specs[p.job_id],  # type: ignore[index]
                        released_ms=now,
                        master_port=by_id[p.job_id]["master_port"],
                        generation=by_id[p.job_id]["release_gen"],
                    ).SerializeToString(),
                )
                for p in admitted
                for rank in range(p.gang_size)
            ]
            return await conn.fetch(
                "INSERT INTO releases (job_id, pool, rank, payload)"
                " SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bytea[])"
                " RETURNING id, pool, payload",
                *(list(col) for col in zip(*rows, strict=True)),
            )

    async def _cluster(self, conn: asyncpg.Connection) -> Cluster:
        cluster = Cluster()
        for q in await conn.fetch(
            "SELECT q.name, q.max_cpus, q.max_gpus,"
            " coalesce(sum(j.cpus * j.gang_size), 0) AS cpus,"
            " coalesce(sum(j.gpus * j.gang_size), 0)::int AS gpus"
            " FROM queues q LEFT JOIN jobs j ON j.queue = q.name"
            "  AND j.state IN ('ADMITTED', 'RUNNING')"
            " GROUP BY q.name"
        ):
            cluster.quotas[q["name"]] = Quota(q["max_cpus"], q["max_gpus"], q["cpus"], q["gpus"])
        workers = await conn.fetch(
            "SELECT w.worker_id, w.pool, w.cpus - coalesce(sum(j.cpus), 0) AS cpus,"
            " w.memory_mb - coalesce(sum(j.memory_mb), 0)::bigint AS memory_mb,"
            " w.gpus - coalesce(sum(j.gpus), 0)::int AS gpus, w.gpu_type"
            " FROM workers w LEFT JOIN jobs j ON j.worker_id = w.worker_id AND j.state = 'RUNNING'"
            " WHERE w.last_seen > now() - make_interval(secs => $1)"
            " GROUP BY w.worker_id ORDER BY w.worker_id",
            WORKER_TTL_S,
        )
        for w in workers:
            cluster.pools.setdefault(w["pool"], []).append(
                Slot(w["worker_id"], w["cpus"], w["memory_mb"], w["gpus"], w["gpu_type"])
            )
        # Admitted jobs not yet started hold room too: place them first.
        for a in await conn.fetch(
            "SELECT pool, cpus, memory_mb, gpus, gang_size FROM jobs WHERE state = 'ADMITTED'"
        ):
            cluster.place(a["pool"], Need(a["cpus"], a["memory_mb"], a["gpus"]), a["gang_size"])
        return cluster

    async def pending_releases(self, limit: int = 512) -> list[asyncpg.Record]:
        return await self.db.pool.fetch(
            "SELECT id, pool, payload FROM releases WHERE published_at IS NULL"
            " ORDER BY id LIMIT $1",
            limit,
        )

    async def mark_released(self, ids: Sequence[int]) -> None:
        await self.db.pool.execute(
            "UPDATE releases SET published_at = now() WHERE id = ANY($1)", list(ids)
        )

    async def forget_releases(self) -> None:
        await self.db.pool.execute(
            "DELETE FROM releases WHERE published_at < now() - interval '10 minutes'"
        )
