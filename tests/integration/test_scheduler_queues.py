"""Queues as objects: create, read, change, pause and delete them, from the SDK and
the CLI, against the real platform with real `switchyard worker` processes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner

import switchyard as sy
from switchyard import errors
from switchyard.cli.main import app
from switchyard.core.config import Settings
from switchyard.sdk.jobs import Job, JobsClient
from switchyard.testing.platform import LocalPlatform
from switchyard.testing.workers import WorkerProcess, new_pool


@pytest.fixture(scope="module")
def jobs(switchyard_platform: LocalPlatform) -> Iterator[JobsClient]:
    with JobsClient(settings=switchyard_platform.client_settings()) as client:
        yield client


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("queues"), cpus=4)[0].pool


def wait_state(job: Job, states: set[str], timeout: float = 20) -> Job:
    deadline = time.monotonic() + timeout
    while job.refresh().state not in states:
        assert time.monotonic() < deadline, f"{job} never reached {states}"
        time.sleep(0.05)
    return job


def test_create_get_list_update_and_delete(jobs: JobsClient, uniq: Callable[..., str]) -> None:
    name = uniq("q")
    made = jobs.create_queue(name, max_cpus=4, max_memory="8G", max_jobs=3)
    assert (made.name, made.max_cpus, made.max_gpus, made.max_memory_mb, made.max_jobs) == (
        name,
        4,
        None,
        8192,
        3,
    )
    assert not made.paused and (made.running_jobs, made.queued_jobs, made.oldest_wait) == (
        0,
        0,
        None,
    )
    assert jobs.get_queue(name) == made
    listed = [q.name for q in jobs.list_queues()]
    assert name in listed and "default" in listed and listed == sorted(listed)

    changed = jobs.update_queue(name, max_gpus=2, max_cpus=None)  # the others stay
    assert (changed.max_cpus, changed.max_gpus, changed.max_memory_mb, changed.max_jobs) == (
        None,
        2,
        8192,
        3,
    )
    with pytest.raises(errors.AlreadyExists):
        jobs.create_queue(name)
    with pytest.raises(errors.InvalidArgument) as bad:
        jobs.create_queue("Not A Queue")
    assert bad.value.field == "name"
    with pytest.raises(errors.InvalidArgument) as zero:
        jobs.update_queue(name, max_jobs=0)
    assert zero.value.field == "max_jobs" and "pause_queue" in zero.value.message
    assert jobs.get_queue(name) == changed  # nothing changed on error
    with pytest.raises(errors.NotFound):
        jobs.get_queue(uniq("missing"))
    with pytest.raises(errors.NotFound):
        jobs.update_queue(uniq("missing"), max_cpus=1)

    jobs.delete_queue(name)
    with pytest.raises(errors.NotFound):
        jobs.get_queue(name)
    with pytest.raises(errors.NotFound):
        jobs.delete_queue(name)
    with pytest.raises(errors.InvalidArgument) as gone:
        jobs.submit_job("true", queue=name)
    assert gone.value.field == "queue"
    with pytest.raises(errors.FailedPrecondition):
        jobs.delete_queue("default")


def test_the_jobs_namespace_has_the_queue_calls(
    switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    from switchyard.sdk import jobs as default

    default.reset(switchyard_settings)
    try:
        name = uniq("ns")
        assert sy.jobs.create_queue(name, max_cpus=1).max_cpus == 1
        assert sy.jobs.pause_queue(name).paused
        assert not sy.jobs.resume_queue(name).paused
        assert sy.jobs.update_queue(name, max_cpus=2).max_cpus == 2
        assert name in [q.name for q in sy.jobs.list_queues()]
        sy.jobs.delete_queue(name)
        with pytest.raises(sy.errors.NotFound):
            sy.jobs.get_queue(name)
    finally:
        default.reset()


def test_a_paused_queue_admits_nothing_until_resumed_and_cancels_nothing(
    jobs: JobsClient, pool: str, uniq: Callable[..., str]
) -> None:
    name = uniq("paused")
    jobs.create_queue(name)
    running = wait_state(jobs.submit_job("sleep 1", queue=name, pool=pool), {"RUNNING"})
    assert jobs.pause_queue(name).paused
    held = jobs.submit_job("echo admitted", queue=name, pool=pool, cpus=0.5)
    other = jobs.submit_job("true", pool=pool, cpus=0.5)  # another queue, the same free worker
    assert other.wait(timeout=20).state == "SUCCEEDED"
    assert running.wait(timeout=20).state == "SUCCEEDED"  # what was running went on
    time.sleep(0.5)
    assert held.refresh().state == "QUEUED"
    seen = jobs.get_queue(name)
    assert (seen.paused, seen.queued_jobs, seen.running_jobs) == (True, 1, 0)
    assert seen.oldest_wait is not None and seen.oldest_wait > 0

    assert not jobs.resume_queue(name).paused
    assert held.wait(timeout=20).state == "SUCCEEDED"
    assert "admitted" in held.logs()


def test_a_job_that_can_never_fit_its_queue_is_refused_at_submit(
    jobs: JobsClient, pool: str, uniq: Callable[..., str]
) -> None:
    name = uniq("small")
    jobs.create_queue(name, max_cpus=1, max_gpus=1, max_memory="1G")
    cases = [
        ({"cpus": 2}, "resources.cpus", f"needs 2 CPUs; queue '{name}' allows at most 1"),
        ({"gpus": 2}, "resources.gpus", f"needs 2 GPUs; queue '{name}' allows at most 1"),
        (
            {"memory": "2G"},
            "resources.memory_mb",
            f"needs 2 GB of memory; queue '{name}' allows at most 1 GB",
        ),
        (
            {"cpus": 1, "gang_size": 2},
            "gang_size",
            f"needs 2 CPUs (2 processes of 1 CPU each); queue '{name}' allows at most 1",
        ),
    ]
    for asked, field, message in cases:
        with pytest.raises(errors.FailedPrecondition) as refused:
            jobs.submit_job("true", queue=name, pool=pool, **asked)  # type: ignore[arg-type]
        assert (refused.value.field, refused.value.message) == (field, message)
    assert jobs.list_jobs(queue=name) == []  # nothing written

    with pytest.raises(errors.FailedPrecondition) as pool_refused:
        jobs.submit_job("true", pool=pool, cpus=64)
    assert "needs 64 CPUs" in pool_refused.value.message
    assert "Need(" not in pool_refused.value.message


def test_lowering_a_limit_under_a_waiting_job_is_refused(
    jobs: JobsClient, uniq: Callable[..., str]
) -> None:
    name = uniq("lower")
    jobs.create_queue(name, max_cpus=4)
    waiting = jobs.submit_job("true", queue=name, pool=new_pool("nobody"), cpus=2)
    try:
        with pytest.raises(errors.FailedPrecondition) as refused:
            jobs.update_queue(name, max_cpus=1)
        assert refused.value.field == "max_cpus"
        assert "1 job waiting" in refused.value.message and "needs 2 CPUs" in refused.value.message
        assert jobs.get_queue(name).max_cpus == 4
        assert jobs.update_queue(name, max_cpus=2).max_cpus == 2
    finally:
        waiting.cancel()


def test_deleting_a_queue_with_jobs_in_it_is_refused(
    jobs: JobsClient, uniq: Callable[..., str]
) -> None:
    name = uniq("busy")
    jobs.create_queue(name)
    waiting = jobs.submit_job("true", queue=name, pool=new_pool("nobody"))
    with pytest.raises(errors.FailedPrecondition) as refused:
        jobs.delete_queue(name)
    assert "1 job queued and 0 running" in refused.value.message
    assert jobs.get_queue(name).queued_jobs == 1
    waiting.cancel()
    jobs.delete_queue(name)
    assert waiting.refresh().spec.queue == name  # its ended jobs keep the name


def test_memory_and_job_count_limits_hold_jobs_back(
    jobs: JobsClient, pool: str, uniq: Callable[..., str]
) -> None:
    memory, count = uniq("mem"), uniq("count")
    jobs.create_queue(memory, max_memory="1G")
    jobs.create_queue(count, max_jobs=1)
    pairs = [
        [
            jobs.submit_job("sleep 0.5", queue=memory, pool=pool, memory="768M", cpus=0.5)
            for _ in range(2)
        ],
        [jobs.submit_job("sleep 0.5", queue=count, pool=pool, cpus=0.5) for _ in range(2)],
    ]
    for a, b in pairs:
        assert a.wait(timeout=20).state == b.wait(timeout=20).state == "SUCCEEDED"
        assert b._proto.started_ms >= a._proto.finished_ms  # the limit held b back


def test_queues_cli(switchyard_settings: Settings, uniq: Callable[..., str]) -> None:
    cli = CliRunner(env={"SWITCHYARD_HOME": str(switchyard_settings.home), "COLUMNS": "200"})
    name = uniq("cli")
    made = cli.invoke(app, ["queues", "create", name, "--max-cpus", "2", "--max-memory", "4G"])
    assert made.exit_code == 0, made.output
    assert "0 of 2" in made.output and "0 MB of 4 GB" in made.output
    listed = cli.invoke(app, ["queues", "ls"])
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if name in line)
    assert "active" in row and "(no limit)" in row

    paused = cli.invoke(app, ["queues", "pause", name])
    assert paused.exit_code == 0 and "paused" in paused.output, paused.output
    assert "paused" in cli.invoke(app, ["queues", "show", name]).output
    resumed = cli.invoke(app, ["queues", "resume", name])
    assert resumed.exit_code == 0 and "resumed" in resumed.output, resumed.output
    updated = cli.invoke(app, ["queues", "update", name, "--max-cpus", "none", "--max-jobs", "5"])
    assert updated.exit_code == 0, updated.output
    assert "0 of 5" in updated.output and "0 (no limit)" in updated.output

    again = cli.invoke(app, ["queues", "create", name])
    assert again.exit_code == 2 and "already exists" in again.output
    zero = cli.invoke(app, ["queues", "create", uniq("cli"), "--max-cpus", "0"])
    assert zero.exit_code == 2 and "more than 0" in zero.output
    deleted = cli.invoke(app, ["queues", "delete", name])
    assert deleted.exit_code == 0, deleted.output
    missing = cli.invoke(app, ["queues", "show", name])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert "Traceback" not in missing.output
