"""Scheduler + trainer-workers end to end: workers are real `switchyard worker` processes.

Each test group uses a pool of its own, so workers of one never take
another's jobs on the shared test platform.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from switchyard import errors
from switchyard.sdk.client import Client
from switchyard.sdk.jobs import Job, JobsClient
from switchyard.testing.platform import LocalPlatform
from switchyard.testing.workers import WorkerProcess

PY = sys.executable


@pytest.fixture(scope="module")
def start_workers(switchyard_workers: object) -> object:
    """`start(pool, count=1, cpus=1, gpus=0)` -> its workers (the harness's fixture)."""
    return switchyard_workers


@pytest.fixture(scope="module")
def jobs(switchyard_platform: LocalPlatform) -> Iterator[JobsClient]:
    with JobsClient(settings=switchyard_platform.client_settings()) as client:
        yield client


def wait_gone(probe: Callable[[], None], why: str, timeout: float = 10) -> None:
    """Until `probe` (os.kill(pid, 0) or os.killpg) finds no such process."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe()
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, why
        time.sleep(0.05)


def wait_state(job: Job, states: set[str], timeout: float = 20) -> Job:
    deadline = time.monotonic() + timeout
    while job.refresh().state not in states:
        assert time.monotonic() < deadline, f"{job} never reached {states}"
        time.sleep(0.05)
    return job


def wait_logs(job: Job, text: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while text not in (out := job.logs()):
        assert time.monotonic() < deadline, f"'{text}' never in the logs of {job}: {out!r}"
        time.sleep(0.05)
    return out


@pytest.fixture(scope="module")
def basic_pool(start_workers: object) -> str:
    pool = f"basic-{uuid4().hex[:6]}"
    start_workers(pool, count=1, cpus=4)  # type: ignore[operator]
    return pool


def test_job_runs_with_logs_and_exit_code(jobs: JobsClient, basic_pool: str) -> None:
    job = jobs.submit_job("echo hello; echo oops >&2; exit 0", pool=basic_pool, name="hello")
    assert job.state == "QUEUED" and job.attempt == 0
    job.wait(timeout=20)
    assert (job.state, job.exit_code, job.attempt) == ("SUCCEEDED", 0, 1)
    assert "hello\n" in job.logs() and "oops\n" in job.logs()
    assert jobs.list_jobs(name="hello", limit=1)[0].id == job.id


def test_failure_then_retry_succeeds(jobs: JobsClient, basic_pool: str, tmp_path: Path) -> None:
    marker = tmp_path / "tried"
    flaky = f"test -f {marker} || {{ touch {marker}; echo first >&2; exit 3; }}"
    job = jobs.submit_job(flaky, pool=basic_pool, max_retries=2).wait(timeout=20)
    assert (job.state, job.attempt, job.retries, job.exit_code) == ("SUCCEEDED", 2, 1, 0)

    failed = jobs.submit_job("exit 7", pool=basic_pool, max_retries=1).wait(timeout=20)
    assert (failed.state, failed.attempt, failed.exit_code) == ("FAILED", 2, 7)


def test_timeout_fails_the_attempt(jobs: JobsClient, basic_pool: str) -> None:
    job = jobs.submit_job(["sleep", "30"], pool=basic_pool, timeout=0.5).wait(timeout=20)
    assert job.state == "FAILED" and job.message == "timeout"


def test_cancel_running_job_kills_its_process_group(jobs: JobsClient, basic_pool: str) -> None:
    script = (
        "import os, subprocess, time;"
        "subprocess.Popen(['sleep', '300']);"
        "print('pgid', os.getpgid(0), flush=True);"
        "time.sleep(300)"
    )
    job = jobs.submit_job([PY, "-c", script], pool=basic_pool)
    out = wait_logs(job, "pgid ")
    pgid = int(out.split("pgid ")[1].split()[0])
    os.killpg(pgid, 0)  # the group is there
    job.cancel()
    job.wait(timeout=20)
    assert job.state == "CANCELLED"
    wait_gone(lambda: os.killpg(pgid, 0), "the job's process group outlived the cancel", 5)


def test_cancel_queued_job(jobs: JobsClient) -> None:
    job = jobs.submit_job("true", pool="nobody-here")
    assert job.cancel().state == "CANCELLED"


def test_job_logs_metrics_into_its_tracking_run(
    jobs: JobsClient, basic_pool: str, switchyard_platform: LocalPlatform
) -> None:
    script = "import switchyard as sy; sy.log_metric('loss', 0.25, step=1); sy.flush()"
    experiment = f"jobs-{uuid4().hex[:6]}"
    job = jobs.submit_job([PY, "-c", script], pool=basic_pool, experiment=experiment)
    job.wait(timeout=30)
    assert job.state == "SUCCEEDED", job.logs()
    assert job.run_id
    with Client(settings=switchyard_platform.client_settings()) as client:
        run = client.get_run(job.run_id)
        assert run.data.metrics["loss"] == 0.25
        assert run.data.tags["switchyard.job_id"] == job.id
        logs = [f.path for f in client.list_artifacts(job.run_id, "logs")]
        assert len(logs) == 1


def test_a_job_runs_inside_its_submitters_trace(
    jobs: JobsClient, basic_pool: str, switchyard_platform: LocalPlatform
) -> None:
    """One trace: sy.submit_job -> the scheduler -> the worker -> the job's own calls."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from switchyard.core.telemetry import setup_tracing

    exporter = InMemorySpanExporter()
    setup_tracing("test", None).add_span_processor(SimpleSpanProcessor(exporter))
    script = "import os, switchyard as sy; print(os.environ['TRACEPARENT']); sy.set_tag('t', 'v')"
    with trace.get_tracer("test").start_as_current_span("user submits") as root:
        job = jobs.submit_job(
            [PY, "-c", script], pool=basic_pool, experiment=f"traced-{uuid4().hex[:6]}"
        )
    job.wait(timeout=30)
    assert job.state == "SUCCEEDED", job.logs()
    trace_id = root.get_span_context().trace_id
    assert f"-{trace_id:032x}-" in job.logs()  # the job's process got the trace
    served = {
        s.name.rsplit("/", 1)[-1]
        for s in exporter.get_finished_spans()
        if s.kind == trace.SpanKind.SERVER and s.context.trace_id == trace_id
    }
    # the submit, the worker making the job's run, and the job's own call: one trace
    assert {"SubmitJob", "CreateRun", "SetTag"} <= served, served


def test_bad_specs_are_rejected(jobs: JobsClient, basic_pool: str) -> None:
    with pytest.raises(errors.InvalidArgument) as bad:
        jobs.submit_job("true", cpus=-1)
    assert bad.value.field == "resources.cpus"
    with pytest.raises(errors.InvalidArgument) as bad:
        jobs.submit_job("true", queue="no-such-queue")
    assert bad.value.field == "queue"
    assert jobs.list_jobs(queue="no-such-queue") == []  # nothing written
    with pytest.raises(errors.InvalidArgument) as bad:
        jobs.submit_job([])
    assert bad.value.field == "command"
    with pytest.raises(errors.FailedPrecondition) as too_big:
        jobs.submit_job("true", pool=basic_pool, gang_size=5, cpus=1)  # 4 CPUs in the pool
    assert too_big.value.field == "gang_size"
    with pytest.raises(errors.NotFound):
        jobs.get_job(uuid4().hex)


def test_gpu_jobs_get_their_own_devices(jobs: JobsClient, start_workers: object) -> None:
    """A worker told it has 2 GPUs (no nvidia-smi here) hands each GPU job its own
    device in CUDA_VISIBLE_DEVICES, and none to a CPU job."""
    pool = f"gpu-{uuid4().hex[:6]}"
    start_workers(pool, count=1, cpus=2, gpus=2)  # type: ignore[operator]
    show = 'echo "devices=[$CUDA_VISIBLE_DEVICES]"; sleep 1'
    gpu_jobs = [jobs.submit_job(show, pool=pool, gpus=1, cpus=0.5) for _ in range(2)]
    cpu_job = jobs.submit_job(show, pool=pool, cpus=0.5)
    for job in [*gpu_jobs, cpu_job]:
        assert job.wait(timeout=30).state == "SUCCEEDED", job.logs()
    seen = sorted(j.logs().strip() for j in gpu_jobs)
    assert seen == ["devices=[0]", "devices=[1]"]  # ran side by side, one GPU each
    assert cpu_job.logs().strip() == "devices=[]"
    with pytest.raises(errors.FailedPrecondition):
        jobs.submit_job("true", pool=pool, gpus=3)


def test_priority_then_fifo_and_queue_quota(jobs: JobsClient, start_workers: object) -> None:
    pool = f"order-{uuid4().hex[:6]}"
    start_workers(pool, count=1, cpus=2)  # type: ignore[operator]
    blocker = jobs.submit_job("sleep 1", pool=pool, cpus=2)
    wait_state(blocker, {"RUNNING"})
    low = jobs.submit_job("true", pool=pool, cpus=2, priority=0)
    low2 = jobs.submit_job("true", pool=pool, cpus=2, priority=0)
    high = jobs.submit_job("true", pool=pool, cpus=2, priority=10)
    for j in (blocker, low, low2, high):
        j.wait(timeout=20)
    assert high.refresh().spec.priority == 10
    started = sorted(
        (j._proto.started_ms, name) for name, j in [("low", low), ("low2", low2), ("high", high)]
    )
    assert [name for _, name in started] == ["high", "low", "low2"]

    queue = f"small-{uuid4().hex[:6]}"
    jobs.put_queue(queue, max_cpus=1)
    a = jobs.submit_job("sleep 0.5", pool=pool, queue=queue, cpus=1)
    b = jobs.submit_job("sleep 0.5", pool=pool, queue=queue, cpus=1)
    a.wait(timeout=20), b.wait(timeout=20)
    assert a.state == b.state == "SUCCEEDED"
    assert b._proto.started_ms >= a._proto.finished_ms  # the quota held b back


def test_gang_is_admitted_whole_with_rendezvous_env(
    jobs: JobsClient, start_workers: object
) -> None:
    pool = f"gang-{uuid4().hex[:6]}"
    start_workers(pool, count=2, cpus=1)  # type: ignore[operator]
    blocker = jobs.submit_job("sleep 1", pool=pool, cpus=1)
    wait_state(blocker, {"RUNNING"})
    show = 'echo "rank=$RANK world=$WORLD_SIZE master=$MASTER_ADDR:$MASTER_PORT"'
    gang = jobs.submit_job(show, pool=pool, cpus=1, gang_size=2)
    time.sleep(0.5)
    assert gang.refresh().state == "QUEUED"  # one slot free is not enough for two
    gang.wait(timeout=20)
    blocker.refresh()
    assert gang.state == "SUCCEEDED", gang.logs()
    assert gang._proto.started_ms >= blocker._proto.finished_ms
    out = gang.logs()
    assert "rank=0 world=2 master=127.0.0.1:" in out and "rank=1 world=2" in out


def running_on_one_of_two(
    jobs: JobsClient, start_workers: object, command: str
) -> tuple[Job, WorkerProcess]:
    """A job started on one of two fresh workers of a new pool, and that worker."""
    pool = f"two-{uuid4().hex[:6]}"
    workers = start_workers(pool, count=2, cpus=1)  # type: ignore[operator]
    job = jobs.submit_job(command, pool=pool)
    wait_logs(job, "started")
    return job, next(w for w in workers if f"-{w.proc.pid}-" in job.refresh().worker_id)


def test_worker_killed_mid_job_is_redelivered_and_finishes_once(
    jobs: JobsClient, start_workers: object, switchyard_platform: LocalPlatform
) -> None:
    import switchyard as sy

    script = 'echo "started pid=$$"; if [ "$SWITCHYARD_JOB_ATTEMPT" = 1 ]; then sleep 60; fi'
    job, victim = running_on_one_of_two(jobs, start_workers, script)
    orphan = int(job.logs().split("started pid=")[1].split()[0])
    victim.proc.kill()
    victim.proc.wait()
    # The dead worker's job process group dies with it (the reaper).
    wait_gone(lambda: os.kill(orphan, 0), "the killed worker's job process lives on")
    job.wait(timeout=30)
    assert (job.state, job.attempt, job.worker_losses, job.retries) == ("SUCCEEDED", 2, 1, 0)
    stream = sy.events(
        "sy.scheduler.job.>",
        deliver="all",
        timeout=1.0,
        settings=switchyard_platform.client_settings(),
    )
    final = [
        e.type
        for e in stream
        if e.subject == job.id and e.type.rsplit(".", 1)[1] in ("succeeded", "failed", "cancelled")
    ]
    assert final == ["sy.scheduler.job.succeeded"]


def test_worker_stopped_gracefully_hands_its_job_back(
    jobs: JobsClient, start_workers: object
) -> None:
    """SIGTERM (a rollout, a scale-down): the job is stopped and goes straight back
    to the queue for another worker, as a worker loss; it is not CANCELLED."""
    job, victim = running_on_one_of_two(jobs, start_workers, "echo started; sleep 3")
    victim.proc.terminate()
    assert victim.proc.wait(30) == 0
    job.wait(timeout=20)  # no ~10 s redelivery wait: the message was given back
    assert (job.state, job.attempt, job.worker_losses, job.retries) == ("SUCCEEDED", 2, 1, 0)
    assert f"-{victim.proc.pid}-" not in job.worker_id


def test_gang_member_killed_restarts_the_whole_gang_once(
    jobs: JobsClient, start_workers: object, switchyard_platform: LocalPlatform
) -> None:
    import switchyard as sy

    pool = f"gangcrash-{uuid4().hex[:6]}"
    workers = start_workers(pool, count=3, cpus=1)  # type: ignore[operator]
    # Attempt 1 sleeps until stopped; attempt 2 (the restarted gang) ends at once.
    script = (
        'echo "rank=$RANK attempt=$SWITCHYARD_JOB_ATTEMPT worker=$PPID pid=$$";'
        ' if [ "$SWITCHYARD_JOB_ATTEMPT" = 1 ]; then sleep 60; fi'
    )
    job = jobs.submit_job(script, pool=pool, cpus=1, gang_size=2)
    wait_logs(job, "rank=0 attempt=1 ")
    out = wait_logs(job, "rank=1 attempt=1 ")

    def field(rank: int, name: str) -> int:
        line = next(ln for ln in out.splitlines() if ln.startswith(f"rank={rank} attempt=1 "))
        return int(line.split(f"{name}=")[1].split()[0])

    victim = next(w for w in workers if w.proc.pid == field(1, "worker"))
    survivor = field(0, "pid")  # rank 0's process of attempt 1, on a worker that lives
    victim.proc.kill()
    victim.proc.wait()
    job.wait(timeout=45)
    assert (job.state, job.attempt, job.worker_losses, job.retries) == ("SUCCEEDED", 2, 1, 0), (
        job.message,
        job.logs(),
    )
    logs = job.logs()
    assert "rank=0 attempt=2 " in logs and "rank=1 attempt=2 " in logs
    # The old attempt's survivor is stopped (heartbeat: not its attempt now).
    wait_gone(lambda: os.kill(survivor, 0), "rank 0 of attempt 1 was never stopped")
    time.sleep(0.5)  # its late FinishJob (attempt 1) changes nothing
    assert (job.refresh().state, job.attempt) == ("SUCCEEDED", 2)
    stream = sy.events(
        "sy.scheduler.job.>",
        deliver="all",
        timeout=1.0,
        settings=switchyard_platform.client_settings(),
    )
    kinds = [e.type.rsplit(".", 1)[1] for e in stream if e.subject == job.id]
    assert [k for k in kinds if k != "log"] == [
        "queued",
        "started",
        "retrying",
        "started",
        "succeeded",
    ]


def test_gang_restart_fences_off_the_old_attempt(jobs: JobsClient) -> None:
    """The worker RPCs by hand (a fake worker): a lost rank restarts the gang under a
    new release generation; the old releases, heartbeats and reports change nothing."""
    from switchyard.proto.v1 import scheduler_pb2 as pb
    from switchyard.proto.v1.scheduler_pb2_grpc import SchedulerServiceStub
    from switchyard.testing.auth import authorized_channel

    channel = authorized_channel(jobs.transport.address("scheduler"), jobs.transport.settings)
    stub = SchedulerServiceStub(channel)
    pool, worker = f"fence-{uuid4().hex[:6]}", f"fake-{uuid4().hex[:6]}"
    stub.RegisterWorker(
        pb.RegisterWorkerRequest(
            worker_id=worker, pool=pool, capacity=pb.Resources(cpus=2, memory_mb=4096)
        )
    )
    job = jobs.submit_job("true", pool=pool, cpus=1, gang_size=2)

    def start(rank: int, generation: int) -> pb.StartJobResponse:
        req = pb.StartJobRequest(job_id=job.id, rank=rank, worker_id=worker, generation=generation)
        return stub.StartJob(req)

    def finish(rank: int, attempt: int) -> pb.Job:
        req = pb.FinishJobRequest(job_id=job.id, rank=rank, attempt=attempt, worker_id=worker)
        return stub.FinishJob(req).job

    wait_state(job, {"ADMITTED"})
    assert start(0, 1).attempt == 1 and start(1, 1).proceed
    lost = start(1, 1)  # rank 1's message again: its worker was lost
    assert not lost.proceed and not lost.wait
    assert (lost.job.state, lost.job.worker_losses) == (pb.JOB_RETRYING, 1)
    # The old attempt cannot complete: the job waits to be (or was just) admitted again.
    assert finish(0, 1).state in (pb.JOB_RETRYING, pb.JOB_ADMITTED)
    wait_state(job, {"ADMITTED"})  # released again, as generation 2
    assert not start(1, 1).proceed and not start(1, 1).wait  # stale: dropped, not waiting
    assert start(0, 2).attempt == 2
    assert not start(1, 1).proceed  # a late old release does not join attempt 2 either
    running = [pb.RunningJob(job_id=job.id, attempt=a, rank=0) for a in (1, 2)]
    beat = stub.Heartbeat(pb.HeartbeatRequest(worker_id=worker, jobs=running))
    assert [(j.attempt, j.rank) for j in beat.stop] == [(1, 0)]  # not attempt 2 beside it
    assert start(1, 2).proceed
    assert finish(1, 1).state == pb.JOB_RUNNING  # attempt 1's late report: ignored
    assert finish(0, 2).state == pb.JOB_RUNNING
    done = finish(1, 2)
    assert (done.state, done.attempt, done.worker_losses, done.retries) == (
        pb.JOB_SUCCEEDED,
        2,
        1,
        0,
    )


def test_cli_submit_ls_logs_cancel(
    basic_pool: str, switchyard_platform: LocalPlatform, jobs: JobsClient
) -> None:
    from typer.testing import CliRunner

    from switchyard.cli.main import app

    home = str(switchyard_platform.settings.home)
    runner = CliRunner(env={"SWITCHYARD_HOME": home, "COLUMNS": "250"})
    argv = ["jobs", "submit", "--pool", basic_pool, "--name", "cli-job", "--wait"]
    done = runner.invoke(app, [*argv, "--", "sh", "-c", "echo from-cli"])
    assert done.exit_code == 0, done.output
    assert "from-cli" in done.output and "SUCCEEDED" in done.output
    job_id = done.output.split()[0]
    assert job_id in runner.invoke(app, ["jobs", "ls", "--limit", "500"]).output
    assert runner.invoke(app, ["jobs", "logs", job_id]).output == "from-cli\n"
    queued = runner.invoke(app, ["jobs", "submit", "--pool", "nobody-here", "--", "true"])
    cancelled = runner.invoke(app, ["jobs", "cancel", queued.output.split()[0]])
    assert cancelled.output.strip() == "CANCELLED"
    running = wait_state(jobs.submit_job("sleep 30", pool=basic_pool), {"RUNNING"})
    stopped = runner.invoke(app, ["jobs", "cancel", running.id])
    assert stopped.exit_code == 0, stopped.output
    assert stopped.output.strip() == "CANCELLED"  # its new state, not RUNNING


def test_a_success_after_a_failed_attempt_keeps_no_failure_message(
    jobs: JobsClient, basic_pool: str, tmp_path: Path
) -> None:
    flaky = f"test -f {tmp_path}/seen || {{ touch {tmp_path}/seen; exit 7; }}"
    job = jobs.submit_job(flaky, pool=basic_pool, max_retries=1).wait(timeout=30)
    assert (job.state, job.attempt, job.retries) == ("SUCCEEDED", 2, 1)
    assert job.message == ""


def _until_state(job: Job, states: set[str], timeout: float) -> Job:
    deadline = time.monotonic() + timeout
    while job.refresh().state not in states:
        assert time.monotonic() < deadline, f"still {job.state}: {job}"
        time.sleep(0.2)
    return job


def test_a_job_whose_only_worker_dies_is_requeued_without_another_worker(
    jobs: JobsClient, start_workers: object
) -> None:
    """No other live worker to take its message: the job is requeued once the worker
    is known lost (its heartbeats stopped), and runs when a worker joins the pool."""
    pool = f"alone-{uuid4().hex[:6]}"
    (victim,) = start_workers(pool, count=1, cpus=1)  # type: ignore[operator]
    script = 'echo "started"; if [ "$SWITCHYARD_JOB_ATTEMPT" = 1 ]; then sleep 60; fi'
    job = jobs.submit_job(script, pool=pool)
    wait_logs(job, "started")
    victim.proc.kill()
    victim.proc.wait()
    _until_state(job, {"RETRYING", "QUEUED", "ADMITTED"}, 40)
    assert job.worker_losses == 1 and "was lost" in job.message, job
    start_workers(pool, count=1, cpus=1)  # type: ignore[operator]
    job.wait(timeout=60)
    assert (job.state, job.attempt, job.worker_losses) == ("SUCCEEDED", 2, 1)


def test_cancelling_a_job_whose_worker_died_ends_it_without_any_worker(
    jobs: JobsClient, start_workers: object
) -> None:
    pool = f"orphan-{uuid4().hex[:6]}"
    (victim,) = start_workers(pool, count=1, cpus=1)  # type: ignore[operator]
    job = jobs.submit_job('echo "started"; sleep 60', pool=pool)
    wait_logs(job, "started")
    victim.proc.kill()
    victim.proc.wait()
    jobs.cancel_job(job.id)
    _until_state(job, {"CANCELLED"}, 40)
    assert "its worker" in job.message, job
