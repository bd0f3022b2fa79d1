"""What the tuner's samplers choose, checked against Optuna in-process.

Every study here goes through `sy.tune` with a Python function as the
objective, run as real jobs on real workers. With `parallel=1` a seeded
sampler sees exactly what it would see in `optuna.create_study(...).optimize`,
so the tuner must propose the same parameters, in the same order, and so
reach the same best value; with several objectives the study's Pareto front
must be the non-dominated set of its completed trials; a conditional space
gives each trial exactly the parameters of the branch it took.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import optuna
import pytest

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.testing.workers import WorkerProcess, new_pool


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("tune-objectives"), cpus=2)[0].pool


@pytest.fixture(autouse=True)
def quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def branin(params: dict[str, float]) -> float:
    x1, x2 = params["x1"], params["x2"]
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    return (
        a * (x2 - b * x1**2 + c * x1 - 6.0) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10
    )


def two_objectives(params: dict[str, float]) -> None:
    """f1 (minimized) and f2 (maximized) pull x towards 0 and 1: a real trade-off."""
    x, y = params["x"], params["y"]
    sy.log_metric("f1", x**2 + y**2, step=0)
    sy.log_metric("f2", -((x - 1) ** 2) - y**2, step=0)


def given_keys(params: dict[str, Any]) -> float:
    """Records which parameters (and their Python types) the function was given."""
    sy.set_tag("given", ",".join(f"{k}:{type(v).__name__}" for k, v in sorted(params.items())))
    return float(params["layers"]) + (params.get("lr") or params.get("sgd_lr") or 0.0)


def grid_point(params: dict[str, int]) -> float:
    return float((params["c"] - 2) ** 2)


def test_tpe_on_branin_proposes_what_optuna_in_process_does(
    pool: str, switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    budget, seed = 30, 7  # past TPE's 10 random startup trials: the model's picks count
    space = {"x1": sy.space.uniform(-5, 10), "x2": sy.space.uniform(0, 15)}
    study = sy.tune(
        branin,
        space,
        metric="branin",
        num_trials=budget,
        parallel=1,  # one at a time: each suggestion sees every earlier result, as in-process
        algorithm="tpe",
        seed=seed,
        pool=pool,
        name=uniq("tpe-branin"),
        settings=switchyard_settings,
    )
    assert study.wait(timeout=240).state == "COMPLETED", study.message

    # The tuner builds TPESampler(seed=seed) with Optuna's defaults and asks the
    # space's dimensions in declared order: suggest_float("x1", -5, 10), then "x2".
    reference = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    reference.optimize(
        lambda t: branin({"x1": t.suggest_float("x1", -5, 10), "x2": t.suggest_float("x2", 0, 15)}),
        n_trials=budget,
    )
    trials = study.trials
    assert [t.state for t in trials] == ["COMPLETED"] * budget
    assert [t.params for t in trials] == [t.params for t in reference.trials]
    assert [t.value for t in trials] == [t.value for t in reference.trials]
    best = study.best_trial
    assert best is not None and best.value == reference.best_value
    assert best.number == reference.best_trial.number


def test_two_objectives_give_a_pareto_front(
    pool: str,
    switchyard_settings: Settings,
    uniq: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="switchyard.services.tuner")
    budget, seed = 14, 3
    modes = ("min", "max")
    study = sy.tune(
        two_objectives,
        {"x": sy.space.uniform(-1, 2), "y": sy.space.uniform(-1, 1)},
        metric=["f1", "f2"],
        mode=list(modes),
        num_trials=budget,
        parallel=2,
        algorithm="nsga2",
        seed=seed,
        pool=pool,
        name=uniq("pareto"),
        settings=switchyard_settings,
    )
    assert study.wait(timeout=180).state == "COMPLETED", study.message
    trials = study.trials
    assert [t.state for t in trials] == ["COMPLETED"] * budget
    for t in trials:  # both objectives, as the function logged them
        x, y = t.params["x"], t.params["y"]
        assert t.values == (x**2 + y**2, -((x - 1) ** 2) - y**2), t

    front = study.pareto_front
    assert front, "a multi-objective study must report a Pareto front"
    on_front = {t.number for t in front}
    for a in front:  # mutually non-dominated
        for b in front:
            assert not dominates(b.values, a.values, modes), (a, b)
    for t in trials:  # every other completed trial is dominated by a member
        if t.number not in on_front:
            assert any(dominates(f.values, t.values, modes) for f in front), t
    assert study.best_trial is None  # one best only for one objective
    failed_steps = [r for r in caplog.records if r.getMessage() == "study step failed"]
    assert not failed_steps, (
        "BUG services/tuner/study_driver.py StudyDriver._feed_reports -> optimizer.py"
        " Optimizer.report: each value a multi-objective trial logs is given to"
        " optuna.Trial.report, which raises NotImplementedError for several objectives; the"
        " step fails, the driver is rebuilt after COOLDOWN_S and its seeded sampler starts"
        f" its random sequence again (repeating earlier trials' parameters); {len(failed_steps)}"
        " failed steps:\n" + "\n".join(repr(r.exc_info[1]) for r in failed_steps if r.exc_info)
    )

    # NSGA-II's first generation (50 trials) is seeded random sampling, drawn in
    # ask order whatever the timing: the same trials, hence the same front, as Optuna's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        reference = optuna.create_study(
            directions=["minimize", "maximize"],
            sampler=optuna.samplers.NSGAIISampler(seed=seed),
        )
    reference.optimize(
        lambda t: (
            (x := t.suggest_float("x", -1, 2)) ** 2 + (y := t.suggest_float("y", -1, 1)) ** 2,
            -((x - 1) ** 2) - y**2,
        ),
        n_trials=budget,
    )
    assert [t.params for t in trials] == [t.params for t in reference.trials]
    assert on_front == {t.number for t in reference.best_trials}


def dominates(a: Sequence[float], b: Sequence[float], modes: Sequence[str]) -> bool:
    """a is at least as good as b in every objective and better in one."""
    signs = [1.0 if m == "min" else -1.0 for m in modes]
    pa = [s * v for s, v in zip(signs, a, strict=True)]
    pb = [s * v for s, v in zip(signs, b, strict=True)]
    return all(x <= y for x, y in zip(pa, pb, strict=True)) and pa != pb


def test_conditional_space_gives_each_trial_exactly_its_branch(
    pool: str,
    switchyard_settings: Settings,
    switchyard_client: sy.Client,
    uniq: Callable[..., str],
) -> None:
    space = {
        "opt": sy.space.choice(
            {
                "adam": {
                    "lr": sy.space.loguniform(1e-4, 1e-1),
                    "beta1": sy.space.uniform(0.8, 0.99),
                },
                "sgd": {
                    "sgd_lr": sy.space.loguniform(1e-3, 1.0),
                    # nested: momentum exists only under opt=sgd and nesterov=True
                    "nesterov": sy.space.choice(
                        {True: {"momentum": sy.space.uniform(0.5, 0.99)}, False: {}}
                    ),
                },
                "none": {},
            }
        ),
        "layers": sy.space.randint(1, 4),
    }
    study = sy.tune(
        given_keys,
        space,
        metric="loss",
        num_trials=12,
        parallel=2,
        algorithm="tpe",  # TPE on a dynamic space: independent sampling per parameter
        seed=1,  # its first 10 (random) trials take all four branches
        pool=pool,
        name=uniq("cond"),
        settings=switchyard_settings,
    )
    assert study.wait(timeout=180).state == "COMPLETED", study.message
    trials = study.trials
    assert [t.state for t in trials] == ["COMPLETED"] * 12, [(t.state, t.message) for t in trials]
    branches = {
        ("adam", None): {"opt", "lr", "beta1", "layers"},
        ("sgd", True): {"opt", "sgd_lr", "nesterov", "momentum", "layers"},
        ("sgd", False): {"opt", "sgd_lr", "nesterov", "layers"},
        ("none", None): {"opt", "layers"},
    }
    seen = set()
    types = {"opt": "str", "lr": "float", "beta1": "float", "sgd_lr": "float"}
    types |= {"nesterov": "bool", "momentum": "float", "layers": "int"}
    for t in trials:
        branch = (t.params["opt"], t.params.get("nesterov"))
        assert branch in branches, t.params
        assert set(t.params) == branches[branch], t.params
        seen.add(branch)
        # The function was given exactly these, typed as the space says.
        tag = switchyard_client.get_run(t.run_id).data.tags["given"]
        assert tag == ",".join(f"{k}:{types[k]}" for k in sorted(t.params)), (tag, t.params)
        assert 1 <= t.params["layers"] <= 4
        if "lr" in t.params:
            assert 1e-4 <= t.params["lr"] <= 1e-1
        if "momentum" in t.params:
            assert 0.5 <= t.params["momentum"] <= 0.99
    assert seen == set(branches), seen


def test_grid_search_tries_each_point_once_and_ends_cleanly(
    pool: str,
    switchyard_settings: Settings,
    uniq: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="switchyard.services.tuner")
    study = sy.tune(
        grid_point,
        {"c": sy.space.randint(0, 5)},
        metric="loss",
        num_trials=6,
        parallel=2,
        algorithm="grid",
        seed=4,
        pool=pool,
        name=uniq("grid"),
        settings=switchyard_settings,
    )
    assert study.wait(timeout=120).state == "COMPLETED", study.message
    trials = study.trials
    assert sorted(t.params["c"] for t in trials) == [0, 1, 2, 3, 4, 5]
    assert all(t.state == "COMPLETED" for t in trials), trials
    best = study.best_trial
    assert best is not None and best.params == {"c": 2} and best.value == 0.0
    failed_steps = [r for r in caplog.records if r.getMessage() == "study step failed"]
    assert not failed_steps, (
        "BUG services/tuner/optimizer.py Optimizer.tell: telling the grid's last trial runs"
        " GridSampler.after_trial, which calls study.stop() outside an optimize loop and"
        " raises RuntimeError; the driver's step fails, the study is rebuilt after"
        " COOLDOWN_S (and a pruned last trial's job is never cancelled):\n"
        + "\n".join(str(r.exc_info[1]) for r in failed_steps if r.exc_info)
    )
