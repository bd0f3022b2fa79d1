"""ListQueues and ListWorkers: quotas with what they hold, workers with what they run."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator

import pytest

from switchyard import errors
from switchyard.core.config import Settings
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk.jobs import Job, JobsClient
from switchyard.sdk.rpcs import scheduler as rpc
from switchyard.sdk.transport import Transport
from switchyard.testing.workers import WorkerProcess, new_pool

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture(scope="module")
def transport(switchyard_platform: object) -> Iterator[Transport]:
    settings: Settings = switchyard_platform.client_settings()  # type: ignore[attr-defined]
    opened = Transport(settings)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def jobs(switchyard_platform: object) -> Iterator[JobsClient]:
    settings: Settings = switchyard_platform.client_settings()  # type: ignore[attr-defined]
    with JobsClient(settings=settings) as client:
        yield client


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("listings"), cpus=2)[0].pool


def running(job: Job, timeout: float = 20) -> Job:
    deadline = time.monotonic() + timeout
    while job.refresh().state != "RUNNING":
        assert time.monotonic() < deadline, f"{job} never started"
        time.sleep(0.05)
    return job


def queue_named(transport: Transport, name: str) -> pb.Queue:
    queues = transport.send(rpc.LIST_QUEUES, pb.ListQueuesRequest()).queues
    assert [q.name for q in queues] == sorted(q.name for q in queues)
    return next(q for q in queues if q.name == name)


def test_a_queue_shows_its_quota_what_runs_and_what_waits(
    transport: Transport, jobs: JobsClient, pool: str, uniq: Callable[..., str]
) -> None:
    name = uniq("quota")
    jobs.put_queue(name, max_cpus=1.5, max_gpus=2)
    empty = queue_named(transport, name)
    assert (empty.max_cpus, empty.max_gpus, empty.used_cpus, empty.active_jobs) == (1.5, 2, 0, 0)

    first = running(jobs.submit_job(SLEEP, queue=name, pool=pool, cpus=1))
    second = jobs.submit_job(SLEEP, queue=name, pool=pool, cpus=1)  # over the quota: waits
    try:
        held = queue_named(transport, name)
        assert (held.used_cpus, held.used_gpus) == (1, 0)
        assert (held.active_jobs, held.waiting_jobs) == (1, 1)
        assert queue_named(transport, "default").max_cpus == 0  # no quota
    finally:
        second.cancel()
        first.cancel().wait(timeout=20)
    assert queue_named(transport, name).used_cpus == 0


def test_a_worker_shows_its_capacity_and_running_jobs(
    transport: Transport, jobs: JobsClient, pool: str
) -> None:
    job = running(jobs.submit_job(SLEEP, pool=pool, cpus=0.5, memory="256m"))
    try:
        reply = transport.send(rpc.LIST_WORKERS, pb.ListWorkersRequest(pool=pool))
        [worker] = reply.workers
        assert (worker.pool, worker.capacity.cpus) == (pool, 2)
        assert (worker.used.cpus, worker.used.memory_mb) == (0.5, 256)
        assert [j.job_id for j in worker.jobs] == [job.id]
        assert worker.jobs[0].state == pb.JOB_RUNNING and worker.host
        assert abs(worker.last_seen_ms / 1000 - time.time()) < 30
        every = transport.send(rpc.LIST_WORKERS, pb.ListWorkersRequest()).workers
        assert worker.worker_id in [w.worker_id for w in every]
    finally:
        job.cancel().wait(timeout=20)
    idle = transport.send(rpc.LIST_WORKERS, pb.ListWorkersRequest(pool=pool)).workers[0]
    assert not idle.jobs and idle.used.cpus == 0


def test_workers_of_an_unknown_or_bad_pool(transport: Transport) -> None:
    nobody = transport.send(rpc.LIST_WORKERS, pb.ListWorkersRequest(pool=new_pool("nobody")))
    assert list(nobody.workers) == []
    with pytest.raises(errors.InvalidArgument) as bad:
        transport.send(rpc.LIST_WORKERS, pb.ListWorkersRequest(pool="Not A Pool"))
    assert bad.value.field == "pool"
