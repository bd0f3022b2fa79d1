"""What workers report about jobs: a start, a finish, a lost worker's redelivered message.

Each report is one transaction on the job's locked row, writing its event
to the outbox; guards on that row (state, attempt, release generation)
make repeated or stale reports change nothing, so a job reaches exactly
one final state. `start_many` / `finish_many` take a worker's batch in one
transaction (rows locked in job order, so two batches cannot deadlock on
each other), whose changes are written together (job_changes.py); a job
named twice in a batch sees the first report's change.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, NoReturn, Protocol, TypeVar

from switchyard.core.db import Database
from switchyard.core.ids import now_ms
from switchyard.errors import NotFound
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.scheduler.job_changes import FINAL, JobChanges, Row, to_job
from switchyard.services.scheduler.store import SchedulerStore


class _Report(Protocol):
    @property
    def job_id(self) -> str: ...


R = TypeVar("R", bound=_Report)
T = TypeVar("T")


async def _locked_rows(
    changes: JobChanges, reqs: Sequence[R]
) -> AsyncIterator[tuple[R, Row | None]]:
    """Each report with its job's row as the batch has left it; all rows locked first,
    in job order."""
    ids = sorted({uuid.UUID(hex=r.job_id) for r in reqs})
    rows = {
        r["job_id"]: r
        for r in await changes.conn.fetch(
            "SELECT * FROM jobs WHERE job_id = ANY($1) ORDER BY job_id FOR UPDATE", ids
        )
    }
    for req in reqs:
        row = rows.get(uuid.UUID(hex=req.job_id))
        yield req, changes.current(row) if row is not None else None


def _missing(req: _Report) -> NoReturn:
    raise NotFound(f"job '{req.job_id}' does not exist", entity="job")


class ReportStore:
    def __init__(self, db: Database, jobs: SchedulerStore) -> None:
        self.db = db
        self.jobs = jobs

    async def start(self, req: pb.StartJobRequest) -> pb.StartJobResponse:
        """A worker is about to run `req.rank` of the job from the release of `req.generation`.

        proceed=False tells it to ack and drop the message: the job is final,
        cancelled or waiting for admission, the release is stale (the job was
        released again since; generation 0, from a worker that predates
        generations, is taken as current), or the message came back because
        a gang member lost its worker and the whole gang restarts.
        """
        (reply,) = await self._each([req], self._start, _missing)
        return reply

    async def start_many(self, reqs: Sequence[pb.StartJobRequest]) -> list[pb.StartJobResponse]:
        """Several starts in one transaction; a job that does not exist is not to run."""
        return await self._each(reqs, self._start, lambda _: pb.StartJobResponse(proceed=False))

    async def _each(
        self,
        reqs: Sequence[R],
        handle: Callable[[JobChanges, Row, R], Awaitable[T]],
        missing: Callable[[R], T],
    ) -> list[T]:
        """Each report `handle`d in one transaction; `missing` answers where no job is."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            changes = JobChanges(conn, self.jobs.outbox, self.jobs.on_pipeline_job_final)
            out = [
                await handle(changes, row, req) if row is not None else missing(req)
                async for req, row in _locked_rows(changes, reqs)
            ]
            await changes.flush()
            return out

    async def _start(
        self, changes: JobChanges, row: Row, req: pb.StartJobRequest
    ) -> pb.StartJobResponse:
        rank, worker_id, host, state = req.rank, req.worker_id, req.host, row["state"]
        stale = req.generation and req.generation != row["release_gen"]
        if stale or state in FINAL or state in ("QUEUED", "RETRYING"):
            return pb.StartJobResponse(proceed=False, job=to_job(row))
        if row["cancel_requested"]:
            job = await changes.set(
                row, state="CANCELLED", message="cancelled", finished_ms=now_ms()
            )
            return pb.StartJobResponse(proceed=False, job=job)
        if state == "RUNNING" and rank in row["started_ranks"]:
            job = await self._worker_lost(changes, row, rank, worker_id)
            if job.state != pb.JOB_RUNNING:
                return pb.StartJobResponse(proceed=False, job=job)
        elif state == "ADMITTED":
            if rank > 0:
                return pb.StartJobResponse(proceed=False, wait=True, job=to_job(row))
            job = await changes.set(
                row,
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
            job = await changes.set(row, started_ranks=[*row["started_ranks"], rank])
        return pb.StartJobResponse(
            proceed=True,
            attempt=job.attempt,
            master_addr=row["master_addr"] or host,
            master_port=row["master_port"],
            job=job,
        )

    async def _worker_lost(
        self, changes: JobChanges, row: Row, rank: int, worker_id: str
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
        attempt = row["attempt"]
        losses = row["worker_losses"] + 1
        spec = pb.JobSpec.FromString(row["spec"])
        if losses > spec.max_worker_losses:
            return await changes.set(
                row,
                state="FAILED",
                worker_losses=losses,
                message=f"lost its worker {losses} times",
                finished_ms=now_ms(),
            )
        if row["gang_size"] > 1:
            return await changes.set(
                row,
                state="RETRYING",
                worker_losses=losses,
                started_ranks=[],
                finished_ranks=0,
                message=f"attempt {attempt}: gang member {rank} lost its worker; the gang restarts",
            )
        return await changes.set(
            row,
            state="RUNNING",
            attempt=attempt + 1,
            worker_losses=losses,
            worker_id=worker_id,
            started_ranks=[rank],
            run_id="",
            started_ms=now_ms(),
        )

    async def workers_lost(self, worker_ids: Sequence[str]) -> list[pb.Job]:
        """Jobs running on workers that stopped heartbeating, requeued now.

        Their messages would come back to another worker of the pool, but a
        pool with no other live worker would leave them RUNNING for ever: so
        each goes to RETRYING (a worker loss; FAILED past max_worker_losses,
        CANCELLED if its cancel was pending), admission releases it again
        under a new generation, and the old message is dropped as stale
        wherever it turns up.
        """
        if not worker_ids:
            return []
        async with self.db.pool.acquire() as conn, conn.transaction():
            changes = JobChanges(conn, self.jobs.outbox, self.jobs.on_pipeline_job_final)
            rows = await conn.fetch(
                "SELECT * FROM jobs WHERE state = 'RUNNING' AND worker_id = ANY($1)"
                " ORDER BY job_id FOR UPDATE",
                list(worker_ids),
            )
            out = [await self._requeue(changes, changes.current(row)) for row in rows]
            await changes.flush()
            return out

    async def _requeue(self, changes: JobChanges, row: Row) -> pb.Job:
        worker = row["worker_id"]
        if row["cancel_requested"]:
            return await changes.set(
                row,
                state="CANCELLED",
                message=f"cancelled; its worker {worker} was lost",
                finished_ms=now_ms(),
            )
        losses = row["worker_losses"] + 1
        if losses > pb.JobSpec.FromString(row["spec"]).max_worker_losses:
            return await changes.set(
                row,
                state="FAILED",
                worker_losses=losses,
                message=f"lost its worker {losses} times",
                finished_ms=now_ms(),
            )
        return await changes.set(
            row,
            state="RETRYING",
            worker_losses=losses,
            started_ranks=[],
            finished_ranks=0,
            message=f"attempt {row['attempt']}: its worker {worker} was lost; requeued",
        )

    async def finish(self, req: pb.FinishJobRequest) -> pb.Job:
        (job,) = await self._each([req], self._finish, _missing)
        return job

    async def finish_many(self, reqs: Sequence[pb.FinishJobRequest]) -> list[pb.Job]:
        """Several finishes in one transaction; one of a job that does not exist changes nothing."""
        return await self._each(reqs, self._finish, lambda req: pb.Job(job_id=req.job_id))

    async def _finish(self, changes: JobChanges, row: Row, req: pb.FinishJobRequest) -> pb.Job:
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
                return await changes.set(row, finished_ranks=done, **cols)
            return await changes.set(
                row,
                state="SUCCEEDED",
                finished_ranks=done,
                finished_ms=now_ms(),
                message="",  # an earlier attempt's failure is not why it ended
                **cols,
            )
        if req.reason == "cancelled" or row["cancel_requested"]:
            return await changes.set(
                row,
                state="CANCELLED",
                message="cancelled",
                finished_ms=now_ms(),
                **cols,
            )
        why = req.reason or f"exit code {req.exit_code}"
        spec = pb.JobSpec.FromString(row["spec"])
        if row["retries"] < spec.max_retries:
            return await changes.set(
                row,
                state="RETRYING",
                retries=row["retries"] + 1,
                started_ranks=[],
                finished_ranks=0,
                message=f"attempt {row['attempt']} failed: {why}",
                **cols,
            )
        return await changes.set(row, state="FAILED", message=why, finished_ms=now_ms(), **cols)
