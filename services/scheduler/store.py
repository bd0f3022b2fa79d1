"""All SQL of the scheduler's jobs (queues: queue_store.py; workers and logs: worker_store.py).

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
import time
import uuid
from collections.abc import Mapping, Sequence

import asyncpg

from switchyard.core import audit
from switchyard.core.db import Database
from switchyard.core.ids import now_ms, uuid7
from switchyard.core.outbox import Outbox
from switchyard.errors import FailedPrecondition, InvalidArgument, NotFound, SwitchyardError
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.scheduler import events
from switchyard.services.scheduler.admission import Cluster, Need, Quota, Slot
from switchyard.services.scheduler.job_changes import FINAL, FinalHook, JobChanges, to_job
from switchyard.services.scheduler.queue_store import QueueStore

WORKER_TTL_S = 10.0
CAPACITY_TTL_S = 1.0
_INSERT_JOBS = (
    "INSERT INTO jobs (job_id, spec, name, pool, queue, priority, cpus, memory_mb, gpus,"
    " gang_size, created_ms, master_port, pipeline_id, step, trace, state)"
    " SELECT u.*, 'QUEUED' FROM unnest($1::uuid[], $2::bytea[], $3::text[], $4::text[],"
    " $5::text[], $6::int[], $7::float8[], $8::bigint[], $9::int[], $10::int[], $11::bigint[],"
    " $12::int[], $13::uuid[], $14::text[], $15::jsonb[]) AS u"
)


def need_of(spec: pb.JobSpec) -> Need:
    r = spec.resources
    return Need(r.cpus, r.memory_mb, r.gpus, r.gpu_type)


def _over_queue(spec: pb.JobSpec, quota: Quota | None) -> SwitchyardError | None:
    """An error if the spec's queue does not exist or could never admit it."""
    if quota is None:
        return InvalidArgument(f"queue '{spec.queue}' does not exist", field="queue")
    refused = quota.refusal(spec.queue, need_of(spec), spec.gang_size)
    return FailedPrecondition(refused.message, field=refused.field) if refused else None


@dataclasses.dataclass(frozen=True)
class Submission:
    """One SubmitJob: the spec, its caller's trace context (W3C headers) and call
    (whose audit row the job goes in, though another caller's task writes it)."""

    spec: pb.JobSpec
    trace: Mapping[str, str]
    call: audit.Call | None = dataclasses.field(default_factory=audit.current)


class SchedulerStore:
    def __init__(self, db: Database, outbox: Outbox, queues: QueueStore) -> None:
        self.db = db
        self.outbox = outbox
        self.queues = queues  # their limits, for refusing jobs that could never start
        # Runs in the transaction that made a pipeline's job final (pipeline_store.py).
        self.on_pipeline_job_final: FinalHook | None = None
        # Pools' live capacity for refusing jobs that could never start (see _unfit).
        self._capacity_cache: dict[str, tuple[float, list[Slot]]] = {}  # pool -> (read at, slots)

    async def lock_job(self, conn: asyncpg.Connection, job_id: uuid.UUID) -> asyncpg.Record:
        row = await conn.fetchrow("SELECT * FROM jobs WHERE job_id = $1 FOR UPDATE", job_id)
        if row is None:
            raise NotFound(f"job '{job_id.hex}' does not exist", entity="job")
        return row

    # -- jobs -------------------------------------------------------------------

    async def submit_many(self, batch: Sequence[Submission]) -> list[pb.Job | BaseException]:
        """New QUEUED jobs and their events in one transaction (SubmitJob's group commit).

        A spec that cannot be accepted (an unknown queue, larger than its
        queue's limits or its pool) fails alone: it gets its error in the list
        and the others go in.
        """
        unfit = await self._unfit(self.db.pool, [s.spec for s in batch])
        fitting = [s for s, error in zip(batch, unfit, strict=True) if error is None]
        jobs: list[pb.Job] = []
        if fitting:
            async with self.db.pool.acquire() as conn:  # one statement: atomic by itself
                specs, traces = [s.spec for s in fitting], [s.trace for s in fitting]
                calls = [s.call for s in fitting]
                jobs = await self.insert_jobs(conn, specs, traces=traces, calls=calls)
        submitted = iter(jobs)
        return [next(submitted) if error is None else error for error in unfit]

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
        calls: Sequence[audit.Call | None] | None = None,
    ) -> list[pb.Job]:
        """QUEUED jobs and their events in one statement (in the caller's transaction, if any).

        The job messages are built here from what is inserted (the other
        columns start at their defaults, which are the proto's), so nothing
        is read back. The caller has checked the queues (`_unfit`).
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
                    json.dumps(dict(trace or {})),
                )
                for job, spec, trace in zip(jobs, specs, traces or [None] * len(jobs), strict=True)
            ),
            strict=True,
        )
        news = events.job_events(self.outbox, jobs, traces or [None] * len(jobs))
        along = (_INSERT_JOBS, [list(c) for c in columns])
        await self.outbox.add_events(conn, news, along=along, calls=calls)
        return jobs

    async def _unfit(
        self, conn: asyncpg.Pool | asyncpg.Connection, specs: Sequence[pb.JobSpec]
    ) -> list[SwitchyardError | None]:
        """Per spec, an error if it could never start: its queue does not exist,
        or it is larger than its queue's limits or its pool's live workers together.

        A pool with no live worker yet is not judged: its jobs wait for one.
        Limits and capacity come from caches at most a second old when they
        say the job fits; a refusal, or a pool the cache knows no worker of,
        is judged again on the database now.
        """
        limits = await self.queues.limits(conn, {s.queue for s in specs}, fresh=False)
        capacity = await self._capacity(conn, {s.pool for s in specs}, fresh=False)
        doubtful_queues = {s.queue for s in specs if _over_queue(s, limits[s.queue])}
        doubtful_pools = {
            s.pool for s in specs if self._unfit_one(s, capacity[s.pool]) or not capacity[s.pool]
        }
        if doubtful_queues:
            limits.update(await self.queues.limits(conn, doubtful_queues, fresh=True))
        if doubtful_pools:
            capacity.update(await self._capacity(conn, doubtful_pools, fresh=True))
        return [
            _over_queue(spec, limits[spec.queue]) or self._unfit_one(spec, capacity[spec.pool])
            for spec in specs
        ]

    async def _capacity(
        self, conn: asyncpg.Pool | asyncpg.Connection, pools: set[str], *, fresh: bool
    ) -> dict[str, list[Slot]]:
        """The live workers' slots of each pool, read again where stale (or all if `fresh`)."""
        now = time.monotonic()
        stale = [
            p
            for p in pools
            if fresh or now - self._capacity_cache.get(p, (-1e9, []))[0] >= CAPACITY_TTL_S
        ]
        if stale:
            rows = await conn.fetch(
                "SELECT worker_id, pool, cpus, memory_mb, gpus, gpu_type FROM workers"
                " WHERE pool = ANY($1) AND last_seen > now() - make_interval(secs => $2)",
                stale,
                WORKER_TTL_S,
            )
            read: dict[str, list[Slot]] = {p: [] for p in stale}
            for r in rows:
                slot = Slot(r["worker_id"], r["cpus"], r["memory_mb"], r["gpus"], r["gpu_type"])
                read[r["pool"]].append(slot)
            self._capacity_cache.update((p, (now, slots)) for p, slots in read.items())
        return {p: self._capacity_cache[p][1] for p in pools}

    @staticmethod
    def _unfit_one(spec: pb.JobSpec, slots: list[Slot]) -> FailedPrecondition | None:
        if not slots:
            return None
        idle = [dataclasses.replace(s) for s in slots]  # placing takes from the slots
        need = need_of(spec)
        if Cluster().could_ever_fit(spec.pool, need, spec.gang_size, idle):
            return None
        workers = f"{len(slots)} live worker" + ("" if len(slots) == 1 else "s")
        if spec.gang_size > 1:
            return FailedPrecondition(
                f"needs {spec.gang_size} processes of {need.words()} each at once; pool"
                f" '{spec.pool}' cannot hold them all ({workers})",
                field="gang_size",
            )
        return FailedPrecondition(
            f"needs {need.words()}; no worker of pool '{spec.pool}' has that much ({workers})",
            field="resources",
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
            changes = JobChanges(conn, self.outbox, self.on_pipeline_job_final)
            job = await self.cancel_locked(conn, changes, row)
            await changes.flush()
            return job

    async def cancel_locked(
        self, conn: asyncpg.Connection, changes: JobChanges, row: asyncpg.Record
    ) -> pb.Job:
        """Cancel a locked job that has not ended (CancelJob's and CancelPipeline's way)."""
        alive = row["state"] == "RUNNING" and await conn.fetchval(
            "SELECT 1 FROM workers WHERE worker_id = $1", row["worker_id"]
        )
        if alive:  # the worker stops it and reports
            return await changes.set(row, cancel_requested=True)
        if row["state"] == "RUNNING":  # its worker is gone: nobody else will
            message = f"cancelled; its worker {row['worker_id']} was lost"
        else:
            message = "cancelled before it started"
        return await changes.set(
            row, state="CANCELLED", cancel_requested=True, message=message, finished_ms=now_ms()
        )
