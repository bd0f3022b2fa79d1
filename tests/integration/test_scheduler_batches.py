"""Batched submits and worker reports against real PostgreSQL: each item gets its own
outcome, one bad item fails alone, and a job named twice in a batch sees the first change."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import pytest

from switchyard.core.db import Database
from switchyard.core.outbox import MIGRATION, Outbox
from switchyard.errors import FailedPrecondition, InvalidArgument, NotFound
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services import scheduler
from switchyard.services.scheduler.queue_store import QueueStore
from switchyard.services.scheduler.report_store import ReportStore
from switchyard.services.scheduler.store import SchedulerStore, Submission
from switchyard.testing import Infrastructure

MIGRATIONS = Path(scheduler.__file__).parent / "migrations"


@pytest.fixture
async def stores(switchyard_infra: Infrastructure):  # type: ignore[no-untyped-def]
    async with Database(switchyard_infra.database_url, f"sb{secrets.token_hex(3)}_sch") as db:
        await db.migrate([MIGRATION, MIGRATIONS])
        outbox = Outbox()
        jobs = SchedulerStore(db, outbox, QueueStore(db, outbox))
        yield db, jobs, ReportStore(db, jobs)


def spec(queue: str = "default", gang_size: int = 1, cpus: float = 1.0) -> Submission:
    resources = pb.Resources(cpus=cpus)
    s = pb.JobSpec(name="b", command=["true"], pool="p", queue=queue, resources=resources)
    s.gang_size = gang_size
    return Submission(s, {})


async def test_a_batch_of_submits_where_some_cannot_be_accepted(stores) -> None:  # type: ignore[no-untyped-def]
    db, jobs, _ = stores
    await db.pool.execute(
        "INSERT INTO workers (worker_id, pool, host, cpus, memory_mb, gpus, gpu_type)"
        " VALUES ('w1', 'p', 'h', 2, 1024, 0, '')"
    )
    results = await jobs.submit_many([spec(), spec(queue="nope"), spec(cpus=3), spec(gang_size=2)])
    ok, unknown, too_big, gang = results
    assert isinstance(ok, pb.Job) and ok.state == pb.JOB_QUEUED
    assert isinstance(unknown, InvalidArgument) and "queue 'nope'" in str(unknown)
    assert isinstance(too_big, FailedPrecondition) and too_big.field == "resources"
    assert isinstance(gang, pb.Job) and gang.spec.gang_size == 2
    stored = await db.pool.fetch("SELECT job_id, state FROM jobs ORDER BY seq")
    assert [(r["job_id"].hex, r["state"]) for r in stored] == [
        (ok.job_id, "QUEUED"),
        (gang.job_id, "QUEUED"),
    ]
    events = await db.pool.fetch("SELECT type FROM outbox ORDER BY seq")
    assert [e["type"] for e in events] == ["sy.scheduler.job.queued"] * 2
    assert (await jobs.get(uuid.UUID(ok.job_id))) == ok


async def test_reports_in_one_batch_see_each_other(stores) -> None:  # type: ignore[no-untyped-def]
    db, jobs, reports = stores
    (gang,) = await jobs.submit_many([spec(gang_size=2)])
    assert isinstance(gang, pb.Job)
    await db.pool.execute("UPDATE jobs SET state = 'ADMITTED', release_gen = 1")
    missing = "0" * 32

    def start(rank: int, job_id: str = gang.job_id) -> pb.StartJobRequest:
        return pb.StartJobRequest(job_id=job_id, rank=rank, worker_id="w1", generation=1)

    first, second, unknown = await reports.start_many([start(0), start(1), start(0, missing)])
    assert first.proceed and first.attempt == 1
    assert second.proceed and second.attempt == 1  # saw rank 0 start before it
    assert not unknown.proceed and not unknown.wait
    with pytest.raises(NotFound):  # a lone report (StartJob) names the missing job
        await reports.start(start(0, missing))

    def finish(rank: int) -> pb.FinishJobRequest:
        return pb.FinishJobRequest(job_id=gang.job_id, rank=rank, attempt=1, worker_id="w1")

    one, both = await reports.finish_many([finish(0), finish(1)])
    assert one.state == pb.JOB_RUNNING and both.state == pb.JOB_SUCCEEDED
    (again,) = await reports.finish_many([finish(1)])  # a repeated report changes nothing
    assert again.state == pb.JOB_SUCCEEDED
    events = await db.pool.fetch("SELECT type FROM outbox ORDER BY seq")
    assert [e["type"] for e in events] == [
        "sy.scheduler.job.queued",
        "sy.scheduler.job.started",
        "sy.scheduler.job.succeeded",
    ]
