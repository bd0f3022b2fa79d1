"""The tuner end to end: studies over gRPC whose trials run as jobs on real workers.

Each trial is a tiny Python script (written here) that reads its parameters
from argv or SWITCHYARD_PARAM_*, and logs its objective with `sy.log_metric`
into the run the tuner made for it. Workers are real `switchyard worker`
processes on a pool of this module's own.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import grpc
import pytest

from switchyard import errors
from switchyard.proto.v1 import scheduler_pb2 as spb
from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.proto.v1 import tuner_pb2_grpc as rpc
from switchyard.sdk.client import Client
from switchyard.sdk.jobs import JobsClient
from switchyard.testing.auth import authorized_channel
from switchyard.testing.platform import LocalPlatform
from switchyard.testing.workers import WorkerProcess, new_pool

PY = sys.executable

BRANIN = """
import math, os, sys
import switchyard as sy
x1 = float(sys.argv[1])
x2 = float(os.environ["SWITCHYARD_PARAM_X2"])
a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
value = a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s
sy.log_metric("branin", value, step=0)
sy.flush()
"""

# Logs which parameters it was given, as its environment has them.
GIVEN = """
import os
import switchyard as sy
given = sorted(k for k in os.environ if k.startswith("SWITCHYARD_PARAM_"))
sy.set_tag("given", ",".join(given))
sy.log_metric("loss", float(os.environ.get("SWITCHYARD_PARAM_LR", "0.5")), step=0)
"""

# A learning curve per configuration: lower q is better at every step.
CURVE = """
import os, sys, time
import switchyard as sy
q = float(os.environ["SWITCHYARD_PARAM_Q"])
for step in range(int(sys.argv[1])):
    sy.log_metric("loss", q + 1.0 / (step + 1), step=step)
    sy.flush()
    time.sleep(0.2)
"""


def branin(x1: float, x2: float) -> float:
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("tuner"), cpus=2)[0].pool


@pytest.fixture(scope="module")
def tuner(switchyard_platform: LocalPlatform) -> Iterator[rpc.TunerServiceStub]:
    address, settings = switchyard_platform.endpoints.grpc["tuner"], switchyard_platform.settings
    with authorized_channel(address, settings) as channel:
        yield rpc.TunerServiceStub(channel)


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("trials")
    (folder / "branin.py").write_text(BRANIN)
    (folder / "curve.py").write_text(CURVE)
    (folder / "given.py").write_text(GIVEN)
    return folder


def floats(**ranges: tuple[float, float]) -> list[pb.Param]:
    return [
        pb.Param(name=n, float=pb.FloatRange(low=lo, high=hi)) for n, (lo, hi) in ranges.items()
    ]


def wait_done(tuner: rpc.TunerServiceStub, study_id: str, timeout: float = 90) -> pb.Study:
    deadline = time.monotonic() + timeout
    while True:
        study = tuner.GetStudy(pb.GetStudyRequest(study_id=study_id)).study
        if study.state != pb.STUDY_RUNNING and study.trials_running == 0:
            return study
        assert time.monotonic() < deadline, f"study still running: {study}"
        time.sleep(0.2)


def trials_of(tuner: rpc.TunerServiceStub, study_id: str) -> list[pb.Trial]:
    return list(tuner.ListTrials(pb.ListTrialsRequest(study_id=study_id)).trials)


def test_branin_study_end_to_end(
    tuner: rpc.TunerServiceStub,
    pool: str,
    scripts: Path,
    switchyard_platform: LocalPlatform,
) -> None:
    name = f"branin-{uuid4().hex[:6]}"
    spec = pb.StudySpec(
        name=name,
        params=floats(x1=(-5.0, 10.0), x2=(0.0, 15.0)),
        objectives=[pb.Objective(metric="branin")],
        algorithm="random",
        trial=spb.JobSpec(command=[PY, str(scripts / "branin.py"), "{x1}"], pool=pool),
        parallel=2,
        max_trials=4,
        has_seed=True,
        seed=3,
        experiment=f"tuning-{name}",
    )
    created = tuner.CreateStudy(pb.CreateStudyRequest(spec=spec)).study
    assert created.state == pb.STUDY_RUNNING and created.run_id
    study = wait_done(tuner, created.study_id)
    assert study.state == pb.STUDY_COMPLETED, study.message
    trials = trials_of(tuner, created.study_id)
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert all(t.state == pb.TRIAL_COMPLETED for t in trials), trials
    for t in trials:
        x1, x2 = json.loads(t.params["x1"]), json.loads(t.params["x2"])
        assert t.values[0] == branin(x1, x2)
    best = min(trials, key=lambda t: t.values[0])
    assert study.best_trial.number == best.number
    assert study.best_trial.params == best.params
    by_name = tuner.GetStudy(pb.GetStudyRequest(name=name)).study
    assert by_name.study_id == created.study_id
    with Client(settings=switchyard_platform.client_settings()) as client:
        run = client.get_run(best.run_id)
        assert run.data.tags["mlflow.parentRunId"] == study.run_id
        assert run.data.params == {"x1": best.params["x1"], "x2": best.params["x2"]}
        assert run.data.metrics["branin"] == best.values[0]
        assert client.get_run(study.run_id).info.status == "FINISHED"


def test_tpe_matches_optuna_in_process(
    tuner: rpc.TunerServiceStub, pool: str, scripts: Path
) -> None:
    import optuna

    budget, seed = 18, 11
    spec = pb.StudySpec(
        name=f"tpe-{uuid4().hex[:6]}",
        params=floats(x1=(-5.0, 10.0), x2=(0.0, 15.0)),
        objectives=[pb.Objective(metric="branin")],
        algorithm="tpe",
        trial=spb.JobSpec(command=[PY, str(scripts / "branin.py"), "{x1}"], pool=pool),
        parallel=1,
        max_trials=budget,
        has_seed=True,
        seed=seed,
    )
    created = tuner.CreateStudy(pb.CreateStudyRequest(spec=spec)).study
    study = wait_done(tuner, created.study_id, timeout=110)
    assert study.state == pb.STUDY_COMPLETED, study.message

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    reference = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    reference.optimize(
        lambda t: branin(t.suggest_float("x1", -5.0, 10.0), t.suggest_float("x2", 0.0, 15.0)),
        n_trials=budget,
    )
    ours = [t.values[0] for t in trials_of(tuner, created.study_id)]
    assert ours == [t.value for t in reference.trials]
    assert study.best_trial.values[0] == reference.best_value


def test_median_rule_prunes_worse_curves(
    tuner: rpc.TunerServiceStub, pool: str, scripts: Path
) -> None:
    steps = 8
    spec = pb.StudySpec(
        name=f"prune-{uuid4().hex[:6]}",
        params=floats(q=(0.0, 1.0)),
        objectives=[pb.Objective(metric="loss")],
        algorithm="random",
        early_stopping=pb.EarlyStopping(rule="median", startup_trials=2, warmup_steps=1),
        trial=spb.JobSpec(command=[PY, str(scripts / "curve.py"), str(steps)], pool=pool),
        parallel=2,
        max_trials=8,
        has_seed=True,
        seed=5,
    )
    created = tuner.CreateStudy(pb.CreateStudyRequest(spec=spec)).study
    study = wait_done(tuner, created.study_id)
    assert study.state == pb.STUDY_COMPLETED, study.message
    trials = trials_of(tuner, created.study_id)
    assert len(trials) == 8
    pruned = [t for t in trials if t.state == pb.TRIAL_PRUNED]
    assert pruned, [(t.state, t.last_step) for t in trials]
    # The step a trial was pruned at is the report the pruner judged; how many
    # more steps its job logged before the cancel reached it depends on load.
    judged = [re.fullmatch(r"pruned at step (\d+)", t.message) for t in pruned]
    assert all(judged), [t.message for t in pruned]
    at = [int(m.group(1)) for m in judged if m]
    assert all(1 <= s <= t.last_step for s, t in zip(at, pruned, strict=True))  # warmup_steps=1
    assert min(at) < steps - 1
    assert not [t for t in trials if t.state == pb.TRIAL_FAILED]
    best_q = min(trials, key=lambda t: json.loads(t.params["q"]))
    assert best_q.state == pb.TRIAL_COMPLETED and best_q.last_step == steps - 1
    assert study.best_trial.number == best_q.number


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.params[0].float.__setattr__("low", 20.0), "params.x1.low"),
        (
            lambda s: s.params.append(
                pb.Param(name="lr", float=pb.FloatRange(low=0, high=1, log=True))
            ),
            "params.lr.low",
        ),
        (
            lambda s: s.params.append(pb.Param(name="opt", categorical=pb.Categorical())),
            "params.opt.choices",
        ),
        (lambda s: s.__setattr__("algorithm", "annealing"), "algorithm"),
        (lambda s: s.early_stopping.__setattr__("rule", "coin-flip"), "early_stopping.rule"),
        (lambda s: s.__setattr__("parallel", 0), "parallel"),
        (lambda s: s.ClearField("objectives"), "objectives"),
    ],
)
def test_bad_spaces_are_rejected_and_nothing_is_written(
    tuner: rpc.TunerServiceStub, change: object, field: str
) -> None:
    name = f"bad-{uuid4().hex[:6]}"
    spec = pb.StudySpec(
        name=name,
        params=floats(x1=(-5.0, 10.0)),
        objectives=[pb.Objective(metric="loss")],
        trial=spb.JobSpec(command=["true"]),
        parallel=1,
        max_trials=3,
    )
    change(spec)  # type: ignore[operator]
    with pytest.raises(grpc.RpcError) as raised:
        tuner.CreateStudy(pb.CreateStudyRequest(spec=spec))
    error = errors.from_rpc_error(raised.value)
    assert isinstance(error, errors.InvalidArgument) and error.field == field, error
    with pytest.raises(grpc.RpcError) as missing:
        tuner.GetStudy(pb.GetStudyRequest(name=name))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_conditional_space_gives_only_valid_combinations(
    tuner: rpc.TunerServiceStub, pool: str, scripts: Path, switchyard_platform: LocalPlatform
) -> None:
    params = [
        pb.Param(name="opt", categorical=pb.Categorical(choices=['"adam"', '"sgd"'])),
        pb.Param(name="lr", float=pb.FloatRange(low=1e-4, high=1e-1, log=True)),
        pb.Param(
            name="momentum", float=pb.FloatRange(low=0.5, high=0.99), parent="opt", when='"sgd"'
        ),
        pb.Param(name="layers", int=pb.IntRange(low=1, high=9, step=2)),
    ]
    spec = pb.StudySpec(
        name=f"cond-{uuid4().hex[:6]}",
        params=params,
        objectives=[pb.Objective(metric="loss")],
        algorithm="random",
        trial=spb.JobSpec(command=[PY, str(scripts / "given.py")], pool=pool),
        parallel=2,
        max_trials=6,
        has_seed=True,
        seed=2,
    )
    created = tuner.CreateStudy(pb.CreateStudyRequest(spec=spec)).study
    study = wait_done(tuner, created.study_id)
    assert study.state == pb.STUDY_COMPLETED, study.message
    trials = trials_of(tuner, created.study_id)
    assert {json.loads(t.params["opt"]) for t in trials} == {"adam", "sgd"}
    with Client(settings=switchyard_platform.client_settings()) as client:
        for t in trials:
            opt, layers = json.loads(t.params["opt"]), json.loads(t.params["layers"])
            assert ("momentum" in t.params) == (opt == "sgd"), t.params
            assert layers in (1, 3, 5, 7, 9)
            assert t.values[0] == json.loads(t.params["lr"])
            given = client.get_run(t.run_id).data.tags["given"].split(",")
            assert given == sorted(f"SWITCHYARD_PARAM_{n.upper()}" for n in t.params)


def test_failed_trials_end_the_study_at_max_failed(tuner: rpc.TunerServiceStub, pool: str) -> None:
    spec = pb.StudySpec(
        name=f"fails-{uuid4().hex[:6]}",
        params=floats(x=(0.0, 1.0)),
        objectives=[pb.Objective(metric="loss")],
        trial=spb.JobSpec(command=["sh", "-c", "exit 3"], pool=pool),
        parallel=1,
        max_trials=5,
        max_failed_trials=2,
    )
    created = tuner.CreateStudy(pb.CreateStudyRequest(spec=spec)).study
    study = wait_done(tuner, created.study_id)
    assert study.state == pb.STUDY_FAILED and study.trials_failed == 2, study
    trials = trials_of(tuner, created.study_id)
    assert [t.state for t in trials] == [pb.TRIAL_FAILED, pb.TRIAL_FAILED]
    assert all("code 3" in t.message for t in trials), trials


def test_stop_study_stops_its_running_trials(
    tuner: rpc.TunerServiceStub, pool: str, switchyard_platform: LocalPlatform
) -> None:
    spec = pb.StudySpec(
        name=f"stop-{uuid4().hex[:6]}",
        params=floats(x=(0.0, 1.0)),
        objectives=[pb.Objective(metric="loss")],
        trial=spb.JobSpec(command=["sleep", "60"], pool=pool),
        parallel=2,
        max_trials=10,
    )
    created = tuner.CreateStudy(pb.CreateStudyRequest(spec=spec)).study
    deadline = time.monotonic() + 20
    while len(trials := trials_of(tuner, created.study_id)) < 2 or not all(
        t.job_id for t in trials
    ):
        assert time.monotonic() < deadline, trials
        time.sleep(0.1)
    stopped = tuner.StopStudy(pb.StopStudyRequest(study_id=created.study_id)).study
    assert stopped.state == pb.STUDY_STOPPED
    study = wait_done(tuner, created.study_id, timeout=30)
    assert study.state == pb.STUDY_STOPPED and study.trials_running == 0
    trials = trials_of(tuner, created.study_id)
    assert len(trials) == 2 and all(t.state == pb.TRIAL_FAILED for t in trials), trials
    with JobsClient(settings=switchyard_platform.client_settings()) as jobs:
        for t in trials:
            assert jobs.get_job(t.job_id).wait(timeout=20).state == "CANCELLED"
