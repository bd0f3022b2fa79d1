"""All SQL of the scheduler: jobs, queues, releases (workers and logs: worker_store.py).

Every state transition is one transaction that writes the job's event to
the outbox; guards on the locked row (state, attempt, release generation)
make repeated or stale reports change nothing, so a job reaches exactly one
final state. A lost worker (its message redelivered) is not a failed
attempt: see report_store.py (a gang restarts whole).
"""

from __future__ import annotations

import dataclasses
import json
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg

from switchyard.core.db import Database, lock_key
from switchyard.core.ids import now_ms, uuid7
from switchyard.core.outbox import Outbox
from switchyard.core.telemetry import current_trace_headers
from switchyard.errors import FailedPrecondition, InvalidArgument, NotFound
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.scheduler import events
from switchyard.services.scheduler.admission import Cluster, Need, Pending, Quota, Slot

FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
WORKER_TTL_S = 10.0
_STATE = {name.removeprefix("JOB_"): value for name, value in pb.JobState.items()}
_ADMISSION_LOCK = lock_key("scheduler:admission")
_INSERT_JOBS = (
    "INSERT INTO jobs (job_id, spec, name, pool, queue, priority, cpus, memory_mb, gpus,"
    " gang_size, created_ms, master_port, pipeline_id, step, state)"
    " SELECT u.*, 'QUEUED' FROM unnest($1::uuid[], $2::bytea[], $3::text[], $4::text[],"
    " $5::text[], $6::int[], $7::float8[], $8::bigint[], $9::int[], $10::int[], $11::bigint[],"
    " $12::int[], $13::uuid[], $14::text[]) AS u"
)


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


@dataclasses.dataclass(frozen=True)
class Submission:
    """One SubmitJob: the spec and its caller's trace context (W3C headers)."""

    spec: pb.JobSpec
    trace: Mapping[str, str]


FinalHook = Callable[[asyncpg.Connection, pb.Job], Awaitable[None]]


class SchedulerStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox
        # Runs in the transaction that made a pipeline's job final (pipeline_store.py).
        self.on_pipeline_job_final: FinalHook | None = None

    async def update_job(self, conn: asyncpg.Connection, job_id: uuid.UUID, **cols: Any) -> pb.Job:
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

    async def lock_job(self, conn: asyncpg.Connection, job_id: uuid.UUID) -> asyncpg.Record:
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
        (result,) = await self.submit_many([Submission(spec, current_trace_headers())])
        if isinstance(result, BaseException):
            raise result
        return result

    async def submit_many(self, batch: Sequence[Submission]) -> list[pb.Job | BaseException]:
        """New QUEUED jobs and their events in one transaction (SubmitJob's group commit).

        A spec that cannot be accepted (larger than its pool, unknown queue)
        fails alone: it gets its error in the list and the others go in.
        """
        unfit = await self._unfit(self.db.pool, [s.spec for s in batch])
        fitting = [s for s, error in zip(batch, unfit, strict=True) if error is None]
        jobs: list[pb.Job | BaseException]
        try:
            jobs = list(await self._submit_together(fitting))
        except InvalidArgument as exc:  # an unknown queue: each on its own, to find whose
            if len(fitting) == 1:
                jobs = [exc]
            else:
                jobs = [await self._submit_alone(s) for s in fitting]
        submitted = iter(jobs)
        return [next(submitted) if error is None else error for error in unfit]

    async def _submit_together(self, batch: Sequence[Submission]) -> list[pb.Job]:
        async with self.db.pool.acquire() as conn, conn.transaction():
            return await self.insert_jobs(
                conn, [s.spec for s in batch], traces=[s.trace for s in batch]
            )

    async def _submit_alone(self, submission: Submission) -> pb.Job | BaseException:
        try:
            (job,) = await self._submit_together([submission])
            return job
        except InvalidArgument as exc:
            return exc

    async def insert_job(
        self,
        conn: asyncpg.Connection,
        spec: pb.JobSpec,
        pipeline_id: uuid.UUID | None = None,
        step: str = "",
    ) -> pb.Job:
        """A new QUEUED job and its event, in the caller's transaction."""
        (unfit,) = await self._unfit(conn, [spec])
        if unfit is not None:
            raise unfit
        (job,) = await self.insert_jobs(conn, [spec], pipeline_id, step)
        return job

    async def insert_jobs(
        self,
        conn: asyncpg.Connection,
        specs: Sequence[pb.JobSpec],
        pipeline_id: uuid.UUID | None = None,
        step: str = "",
        traces: Sequence[Mapping[str, str] | None] | None = None,
    ) -> list[pb.Job]:
        """QUEUED jobs and their events in two statements, in the caller's transaction.

        The job messages are built here from what is inserted (the other
        columns start at their defaults, which are the proto's), so nothing
        is read back. An unknown queue is caught by the jobs -> queues
        foreign key rather than by a lookup first.
        """
        if not specs:
            return []
        now = now_ms()
        jobs = [
            pb.Job(
                job_id=uuid7().hex,
                spec=spec,
                state=pb.JOB_QUEUED,
                created_ms=now,
                pipeline_id=pipeline_id.hex if pipeline_id else "",
                step=step,
            )
            for spec in specs
        ]
        columns = zip(
            *(
                (
                    uuid.UUID(hex=job.job_id),
                    spec.SerializeToString(),
                    spec.name,
                    spec.pool,
                    spec.queue,
                    spec.priority,
                    spec.resources.cpus,
                    spec.resources.memory_mb,
                    spec.resources.gpus,
                    spec.gang_size,
                    now,
                    random.randint(20_000, 60_000),
                    pipeline_id,
                    step,
                )
                for job, spec in zip(jobs, specs, strict=True)
            ),
            strict=True,
        )
        try:
            await conn.execute(_INSERT_JOBS, *(list(c) for c in columns))
        except asyncpg.ForeignKeyViolationError as exc:
            if exc.constraint_name != "jobs_queue_fkey":
                raise
            queues = "', '".join(sorted({s.queue for s in specs}))
            raise InvalidArgument(f"queue '{queues}' does not exist", field="queue") from exc
        await events.jobs_changed(self.outbox, conn, jobs, traces or [None] * len(jobs))
        return jobs

    async def _unfit(
        self, conn: asyncpg.Pool | asyncpg.Connection, specs: Sequence[pb.JobSpec]
    ) -> list[FailedPrecondition | None]:
        """Per spec, an error if it is larger than its pool's live workers together.

        Such a job could never start. A pool with no live worker yet is not
        judged: its jobs wait for one.
        """
        rows = await conn.fetch(
            "SELECT worker_id, pool, cpus, memory_mb, gpus, gpu_type FROM workers"
            " WHERE pool = ANY($1) AND last_seen > now() - make_interval(secs => $2)",
            list({s.pool for s in specs}),
            WORKER_TTL_S,
        )
        capacity: dict[str, list[Slot]] = {}
        for r in rows:
            slot = Slot(r["worker_id"], r["cpus"], r["memory_mb"], r["gpus"], r["gpu_type"])
            capacity.setdefault(r["pool"], []).append(slot)
        return [self._unfit_one(spec, capacity.get(spec.pool)) for spec in specs]

    @staticmethod
    def _unfit_one(spec: pb.JobSpec, slots: list[Slot] | None) -> FailedPrecondition | None:
        if not slots:
            return None
        idle = [dataclasses.replace(s) for s in slots]  # placing takes from the slots
        if Cluster().could_ever_fit(spec.pool, need_of(spec), spec.gang_size, idle):
            return None
        field = "gang_size" if spec.gang_size > 1 else "resources"
        return FailedPrecondition(
            f"{field}: {spec.gang_size} x {need_of(spec)} is more than pool '{spec.pool}'"
            f" has ({len(slots)} workers)",
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
            row = await self.lock_job(conn, job_id)
            if row["state"] in FINAL:
                return to_job(row)
            if row["state"] == "RUNNING":  # the worker stops it and reports
                return await self.update_job(conn, job_id, cancel_requested=True)
            return await self.update_job(
                conn,
                job_id,
                state="CANCELLED",
                cancel_requested=True,
                message="cancelled before it started",
                finished_ms=now_ms(),
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
