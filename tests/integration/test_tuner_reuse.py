"""Reused trial processes (`sy.tune(fn, ..., reuse_processes=True)`) on real workers:
a few long-lived runner jobs take trial after trial, each trial still its own
run with its own parameters, and a pruned trial stops at its next report while
its process goes on to the next trial."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.testing.workers import WorkerProcess, new_pool


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("tune-reuse"), cpus=2)[0].pool


def branin(params: dict[str, float]) -> float:
    x1, x2 = params["x1"], params["x2"]
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    return (
        a * (x2 - b * x1**2 + c * x1 - 6.0) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10
    )


CURVE_STEPS = 15


def curve(params: dict[str, float]) -> None:
    """A learning curve: lower q is better at every step."""
    import switchyard as sy

    for step in range(CURVE_STEPS):
        sy.log_metric("loss", params["q"] + 1.0 / (step + 1), step=step)
        sy.flush()
        time.sleep(0.1)


def _jobs(settings: Settings, trials: list[sy.Trial], *, ended: bool = False) -> dict[str, Any]:
    """The trials' jobs by id (once they all ended, with `ended`)."""
    deadline = time.monotonic() + 30
    with sy.JobsClient(settings=settings) as client:
        while True:
            jobs = {j: client.get_job(j) for j in {t.job_id for t in trials}}
            states = [j.state for j in jobs.values()]
            if not ended or all(s in ("SUCCEEDED", "CANCELLED") for s in states):
                return jobs
            assert time.monotonic() < deadline, states
            time.sleep(0.2)


def test_runners_take_trial_after_trial(
    pool: str, switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    space = {"x1": sy.space.uniform(-5, 10), "x2": sy.space.uniform(0, 15)}
    study = sy.tune(
        branin,
        space,
        metric="branin",
        num_trials=20,
        parallel=2,
        seed=7,
        pool=pool,
        name=uniq("reuse"),
        reuse_processes=True,
        settings=switchyard_settings,
    )
    assert study.wait(timeout=120).state == "COMPLETED", study.message
    trials = study.trials
    assert [t.number for t in trials] == list(range(20))
    assert [t.state for t in trials] == ["COMPLETED"] * 20, [t.message for t in trials]
    assert len({t.run_id for t in trials}) == 20  # each its own run
    for t in trials:
        assert t.value == pytest.approx(branin(t.params))
    with sy.Client(settings=switchyard_settings) as client:
        run = client.get_run(trials[3].run_id)
    assert {k: float(v) for k, v in run.data.params.items()} == pytest.approx(trials[3].params)
    assert run.info.status == "FINISHED"
    assert run.data.tags.get("mlflow.parentRunId") == study.run_id
    # Two runner jobs (a few more only if one had to be relaunched), not 20.
    # The runners exit once no trial is left.
    jobs = _jobs(switchyard_settings, trials, ended=True)
    assert 1 <= len(jobs) <= 4, sorted(j.name for j in jobs.values())
    assert all(re.fullmatch(rf"{study.name}-runner-\d+", j.name) for j in jobs.values())
    with sy.JobsClient(settings=switchyard_settings) as client:
        submitted = [
            j for i in range(10) for j in client.list_jobs(name=f"{study.name}-runner-{i}")
        ]
        assert not client.list_jobs(name=f"{study.name}-trial-0")
    assert 2 <= len(submitted) <= 4, [j.name for j in submitted]


def test_a_pruned_trial_stops_and_its_process_goes_on(
    pool: str, switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    study = sy.tune(
        curve,
        {"q": sy.space.uniform(0, 1)},
        metric="loss",
        num_trials=12,
        parallel=2,
        algorithm="random",
        early_stopping="median",  # judges after 5 finished trials
        seed=11,
        pool=pool,
        name=uniq("reuse-prune"),
        reuse_processes=True,
        settings=switchyard_settings,
    )
    assert study.wait(timeout=120).state == "COMPLETED", study.message
    trials = study.trials
    assert len(trials) == 12
    assert not [t for t in trials if t.state == "FAILED"], [t.message for t in trials]
    pruned = [t for t in trials if t.state == "PRUNED"]
    assert pruned, [(t.state, t.last_step) for t in trials]
    jobs = _jobs(switchyard_settings, trials)
    assert len(jobs) <= 4
    with sy.Client(settings=switchyard_settings) as client:
        for t in pruned:
            # It stopped at its next report after the step it was judged at (the last
            # step itself can be that step: then there was nothing left to stop) ...
            judged = int(t.message.removeprefix("pruned at step "))
            history = client.get_metric_history(t.run_id, "loss")
            assert max(m.step for m in history) <= judged + 1, t
            assert client.get_run(t.run_id).info.status == "KILLED"
            # ... and the same process ran a later trial.
            assert any(u.job_id == t.job_id and u.number > t.number for u in trials), t
    stops = [int(t.message.removeprefix("pruned at step ")) for t in pruned]
    assert min(stops) < CURVE_STEPS - 1, stops  # pruning cut some curve short
    best = min(trials, key=lambda t: t.params["q"])
    assert best.state == "COMPLETED" and best.last_step == CURVE_STEPS - 1


def test_a_command_cannot_reuse_processes(switchyard_settings: Settings) -> None:
    with pytest.raises(sy.errors.InvalidArgument) as bad:
        sy.tune(
            ["python", "-c", "pass"],
            {"x": sy.space.uniform(0, 1)},
            metric="loss",
            num_trials=2,
            reuse_processes=True,
            settings=switchyard_settings,
        )
    assert bad.value.field == "reuse_processes"


def test_the_tuner_rejects_reuse_with_a_command(switchyard_settings: Settings) -> None:
    # The same rule at the service, for clients other than `sy.tune`.
    from switchyard.proto.v1 import scheduler_pb2 as spb
    from switchyard.proto.v1 import tuner_pb2 as pb
    from switchyard.sdk.rpcs import tuner as rpc
    from switchyard.sdk.transport import Transport

    spec = pb.StudySpec(
        params=[pb.Param(name="x", float=pb.FloatRange(low=0, high=1))],
        objectives=[pb.Objective(metric="loss")],
        trial=spb.JobSpec(command=["python", "-c", "pass"]),
        parallel=1,
        max_trials=2,
        reuse_processes=True,
    )
    transport = Transport(switchyard_settings)
    try:
        with pytest.raises(sy.errors.InvalidArgument) as bad:
            transport.send(rpc.CREATE_STUDY, pb.CreateStudyRequest(spec=spec))
    finally:
        transport.close()
    assert bad.value.field == "reuse_processes"
