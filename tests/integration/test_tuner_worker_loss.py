"""A trial whose worker is SIGKILLed is retried or recorded, never lost.

Two workers of one CPU each run a study's trials two at a time; once a
trial is well under way, its worker is killed (SIGKILL: no goodbye, its job
process group dies with it). The scheduler redelivers the job to the other
worker after its ack wait (~10 s), and the tuner, which follows the job's
end rather than the worker, finishes the trial from the second attempt.
The study still ends with exactly `num_trials` trials and none left
RUNNING.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.testing.workers import WorkerProcess, new_pool

NUM_TRIALS = 4


def slow_quadratic(params: dict[str, Any]) -> float:
    x = params["x"]
    sy.log_metric("loss", 10.0 + x, step=0)  # the first report: the trial is under way
    sy.flush()
    time.sleep(3.0)
    return (x - 0.25) ** 2


@pytest.fixture(scope="module")
def workers(switchyard_workers: Callable[..., list[WorkerProcess]]) -> list[WorkerProcess]:
    return switchyard_workers(new_pool("tune-loss"), count=2, cpus=1)


def test_trial_on_a_killed_worker_is_redelivered_not_lost(
    workers: list[WorkerProcess], switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    study = sy.tune(
        slow_quadratic,
        {"x": sy.space.uniform(0, 1)},
        metric="loss",
        num_trials=NUM_TRIALS,
        parallel=2,
        algorithm="random",
        seed=5,
        cpus=1,
        pool=workers[0].pool,
        name=uniq("worker-loss"),
        settings=switchyard_settings,
    )
    with sy.JobsClient(settings=switchyard_settings) as jobs:
        deadline = time.monotonic() + 60
        while True:  # a trial that has reported, on a worker we started
            running = [t for t in study.trials if t.state == "RUNNING" and t.last_step == 0]
            if running:
                victim_trial = running[0]
                job = jobs.get_job(victim_trial.job_id)
                victim = next((w for w in workers if f"-{w.proc.pid}-" in job.worker_id), None)
                if job.state == "RUNNING" and victim is not None:
                    break
            assert time.monotonic() < deadline, study.trials
            time.sleep(0.1)
        victim.proc.kill()
        victim.proc.wait()

        assert study.wait(timeout=120).state == "COMPLETED", study.message
        trials = study.trials
        assert [t.number for t in trials] == list(range(NUM_TRIALS)), trials
        assert not [t for t in trials if t.state == "RUNNING"], trials
        lost = trials[victim_trial.number]
        job = jobs.get_job(lost.job_id)
        # Redelivered and finished, or, if not, recorded with its reason: never dropped.
        if lost.state == "COMPLETED":
            assert lost.value == (lost.params["x"] - 0.25) ** 2, lost
            assert (job.state, job.attempt, job.worker_losses) == ("SUCCEEDED", 2, 1), (
                job.state,
                job.attempt,
                job.worker_losses,
                job.message,
            )
            assert f"-{victim.proc.pid}-" not in job.worker_id
        else:
            assert lost.state == "FAILED" and lost.message, lost
        for t in trials:
            if t.number != lost.number:
                assert t.state == "COMPLETED", t
        print("killed trial:", lost.state, job.state, job.attempt, job.worker_losses, lost.message)
        assert study.refresh().best_trial is not None
