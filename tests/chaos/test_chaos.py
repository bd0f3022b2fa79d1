"""The chaos suite: `switchyard up` under a mixed load while its parts are killed.

Under SDK logging, the real `mlflow` client and job submissions, each service,
the worker, NATS and PostgreSQL are SIGKILLed in turn, and then NATS is
restarted with an empty store. Afterwards every acknowledged write is there,
every event reached a durable subscriber exactly once, every job has exactly
one terminal state, and no `/readyz` said 200 while a loop of its service
was dead. The recovery times are printed (`-s` shows them).

CI runs one round; by hand, longer:

    SWITCHYARD_CHAOS_ROUNDS=5 pytest tests/chaos -s
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos_load import (
    Acknowledged,
    Deliveries,
    ReadinessWatch,
    Worker,
    all_ready,
    get,
    jetstream_dir,
    start_load,
    until,
)

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.errors import SwitchyardError
from switchyard.sdk.jobs import JobsClient
from switchyard.testing.up import UpProcess

pytestmark = pytest.mark.e2e
ROUNDS = int(os.environ.get("SWITCHYARD_CHAOS_ROUNDS", "1"))
SERVICES = ("tracking", "registry", "scheduler", "tuner", "gateway", "web")
FAULTS = (*SERVICES, "worker", "nats", "postgres")


@pytest.fixture
def up(tmp_path: Path) -> Iterator[UpProcess]:
    with UpProcess(tmp_path / "home") as platform:
        assert set(platform.probes()) == set(SERVICES), "a service without a fault"
        yield platform


def _kill(up: UpProcess, part: str, wipe: bool = False) -> float:
    """SIGKILL one part; the seconds until `up` restarted it and all services are ready."""
    before, pid = up.restarts(part), up.pid(part)
    os.kill(pid, signal.SIGKILL)
    start = time.monotonic()
    if wipe:  # NATS's disk is lost: it comes back with no streams at all
        until(lambda: up.restarts(part) > before or not _alive(pid), 30, "nats gone")
        shutil.rmtree(jetstream_dir(up.home), ignore_errors=True)
    until(lambda: up.restarts(part) > before, 60, f"{part} restarted", every=0.02)
    try:
        until(lambda: all_ready(up.probes()), 60, f"ready after {part}", every=0.05)
    except AssertionError:
        raise AssertionError(f"not ready 60 s after {part} was killed:\n{_why(up)}") from None
    return time.monotonic() - start


def _why(up: UpProcess) -> str:
    """Each service's readiness answer, and the end of the log of those not ready."""
    lines = []
    for name, base in up.probes().items():
        status, body = get(f"{base}/readyz")
        lines.append(f"{name}: {status} {body.decode(errors='replace').strip()}")
        if status != 200:
            log = (up.home / "logs" / f"{name}.log").read_text(errors="replace")
            lines += ["  " + line[:300] for line in log.splitlines()[-8:]]
    return "\n".join(lines)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _jobs_flow(client: JobsClient) -> float:
    """Seconds until a job submitted now has succeeded (retrying the submit itself)."""
    start = time.monotonic()
    while True:
        try:
            job = client.submit_job(["true"], name="probe", cpus=0.1)
            break
        except SwitchyardError:
            assert time.monotonic() - start < 60, "jobs could not be submitted"
            time.sleep(0.05)
    assert job.wait(timeout=60).state == "SUCCEEDED", job.message
    return time.monotonic() - start


def test_nothing_acknowledged_is_lost_while_parts_are_killed(up: UpProcess) -> None:
    settings = Settings(home=up.home)
    client = sy.Client(settings=settings)
    jobs = JobsClient(settings=settings)
    experiment_id = client.create_experiment("chaos")
    acked = Acknowledged()
    deliveries = Deliveries()
    subscriptions = [
        sy.subscribe("sy.tracking.run.created", deliveries, "chaos-runs", settings=settings),
        sy.subscribe("sy.scheduler.job.>", deliveries, "chaos-jobs", settings=settings),
    ]
    watch = ReadinessWatch(up.probes())
    watch.start()
    recovery: dict[str, list[float]] = {}
    flowing: dict[str, list[float]] = {}

    def load() -> list[Worker]:
        return start_load(settings, up.endpoints["http"]["web"], experiment_id, acked, 0.1)

    errors: dict[str, int] = {}
    try:
        workers = load()
        for _ in range(ROUNDS):
            for part in FAULTS:
                time.sleep(1.0)  # load runs between faults
                recovery.setdefault(part, []).append(_kill(up, part))
                if part in ("nats", "postgres"):
                    flowing.setdefault(part, []).append(_jobs_flow(jobs))
        # NATS with an empty store: what it held is gone by definition, so the
        # load stops and the subscribers catch up first; then it must all go on.
        for w in workers:
            w.stop()
            errors.update({f"{w.name}:{k}": n for k, n in w.errors.items()})
        _settle(jobs, acked, deliveries)
        recovery.setdefault("nats (empty store)", []).append(_kill(up, "nats", wipe=True))
        flowing.setdefault("nats (empty store)", []).append(_jobs_flow(jobs))
        workers = load()
        time.sleep(3.0)
        for w in workers:
            w.stop()
            errors.update({f"{w.name}+:{k}": n for k, n in w.errors.items()})
        _settle(jobs, acked, deliveries)
    finally:
        watch.stop()
        for s in subscriptions:
            s.close()

    _report(acked, deliveries, recovery, flowing, errors, watch)
    _check_present(client, up, acked)
    assert deliveries.duplicates() == 0, "an event reached the durable subscriber twice"
    assert watch.lies == [], watch.lies


def _settle(client: JobsClient, acked: Acknowledged, deliveries: Deliveries) -> None:
    """Wait until every acknowledged job ended and the subscriber saw all of it."""
    with acked.lock:
        runs = [*acked.sdk_runs, *acked.mlflow_runs]
        jobs = list(acked.jobs)
    until(
        lambda: all(deliveries.runs_created[r] for r in runs),
        90,
        f"run.created for {sum(not deliveries.runs_created[r] for r in runs)} acknowledged runs",
        every=0.2,
    )
    for job_id in jobs:
        job = client.get_job(job_id).wait(timeout=120)
        assert job.state == "SUCCEEDED", (job_id, job.state, job.message)
    until(
        lambda: all(deliveries.job_terminals[j] for j in jobs),
        60,
        f"terminal events for {sum(not deliveries.job_terminals[j] for j in jobs)} jobs",
        every=0.2,
    )


def _check_present(client: sy.Client, up: UpProcess, acked: Acknowledged) -> None:
    from mlflow.tracking import MlflowClient

    for run_id, points in acked.sdk_runs.items():
        history = client.get_metric_history(run_id, "loss")
        assert len(history) >= points, (run_id, len(history), points)
    mlflow = MlflowClient(tracking_uri=up.endpoints["http"]["web"])
    for run_id in acked.mlflow_runs:
        assert mlflow.get_run(run_id).info.run_id == run_id


def _report(
    acked: Acknowledged,
    deliveries: Deliveries,
    recovery: dict[str, list[float]],
    flowing: dict[str, list[float]],
    errors: dict[str, int],
    watch: ReadinessWatch,
) -> None:
    runs = [*acked.sdk_runs, *acked.mlflow_runs]
    points = sum(acked.sdk_runs.values())
    print(f"\nchaos: {ROUNDS} round(s), {sum(map(len, recovery.values()))} faults injected")
    print(
        f"  runs acknowledged {len(runs)}, run.created delivered once for "
        f"{sum(deliveries.runs_created[r] == 1 for r in runs)}"
    )
    print(f"  metric points acknowledged {points}")
    print(
        f"  jobs acknowledged {len(acked.jobs)}, with one terminal event "
        f"{sum(deliveries.job_terminals[j] == 1 for j in acked.jobs)}"
    )
    print(
        f"  duplicate deliveries {deliveries.duplicates()}, readiness polls {watch.polls}, "
        f"ready while a loop was dead {len(watch.lies)}"
    )
    print(f"  calls refused during faults (retried): {errors}")
    every = [t for ts in recovery.values() for t in ts]
    print(
        f"  SIGKILL to all /readyz 200: p50 {statistics.median(every):.2f} s, "
        f"max {max(every):.2f} s"
    )
    for part, times in recovery.items():
        print(f"    {part:20s} {' '.join(f'{t:.2f}' for t in times)} s")
    for part, times in flowing.items():
        print(f"  {part} back to a job succeeding: {' '.join(f'{t:.2f}' for t in times)} s")
    for r in runs:
        assert deliveries.runs_created[r] == 1, (r, deliveries.runs_created[r])
    for j in acked.jobs:
        assert deliveries.job_terminals[j] == 1, (j, deliveries.job_terminals[j])
