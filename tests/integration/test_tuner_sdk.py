"""`sy.tune` as a user calls it: a Python function or a command as the objective,
real trials on real workers, the study read back through `Study`."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

import pytest

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.testing.workers import WorkerProcess, new_pool


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("tune-sdk"), cpus=2)[0].pool


def branin(params: dict[str, float]) -> float:
    x1, x2 = params["x1"], params["x2"]
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    return (
        a * (x2 - b * x1**2 + c * x1 - 6.0) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10
    )


def test_a_function_objective_runs_on_the_workers(
    pool: str, switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    space = {"x1": sy.space.uniform(-5, 10), "x2": sy.space.uniform(0, 15)}
    study = sy.tune(
        branin,  # shipped by value: the workers need not import this test module
        space,
        metric="branin",
        num_trials=6,
        parallel=2,
        seed=3,
        pool=pool,
        name=uniq("branin"),
        settings=switchyard_settings,
    )
    assert study.wait(timeout=120).state == "COMPLETED", _why(study, switchyard_settings)
    trials = study.trials
    assert [t.state for t in trials] == ["COMPLETED"] * 6
    for t in trials:  # the value each trial reported is the function of its params
        assert t.value == pytest.approx(branin(t.params))
    best = study.best_trial
    assert best is not None and best.value == min(t.value for t in trials if t.value is not None)
    frame = study.trials_dataframe()
    assert list(frame["number"]) == list(range(6)) and "params.x1" in frame.columns
    assert sy.get_study(study.name, settings=switchyard_settings).id == study.id

    # The CLI reads the same study.
    from typer.testing import CliRunner

    from switchyard.cli.main import app

    env = {"SWITCHYARD_HOME": str(switchyard_settings.home)}
    runner = CliRunner()
    listed = runner.invoke(app, ["studies", "ls"], env=env)
    assert listed.exit_code == 0 and study.id in listed.output, listed.output
    shown = runner.invoke(app, ["studies", "best", study.name], env=env)
    assert shown.exit_code == 0 and f"trial {best.number}:" in shown.output, shown.output
    table = runner.invoke(app, ["studies", "show", study.id, "--no-watch"], env=env)
    assert table.exit_code == 0 and "COMPLETED" in table.output, table.output


def test_a_command_with_conditional_choices(
    pool: str, switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    script = (
        "import os, switchyard as sy; "
        "sy.log_metric('loss', float(os.environ.get('SWITCHYARD_PARAM_LR', '1')), step=0)"
    )
    space = {
        "opt": sy.space.choice({"adam": {"lr": sy.space.loguniform(1e-3, 1e-1)}, "none": {}}),
    }
    study = sy.tune(
        [sys.executable, "-c", script, "{opt}"],
        space,
        metric="loss",
        num_trials=4,
        algorithm="random",
        seed=1,
        pool=pool,
        name=uniq("cond"),
        settings=switchyard_settings,
    )
    assert study.wait(timeout=120).state == "COMPLETED", study.message
    for t in study.trials:
        assert ("lr" in t.params) == (t.params["opt"] == "adam"), t.params


def test_bad_spaces_name_the_parameter(switchyard_settings: Settings) -> None:
    with pytest.raises(sy.errors.InvalidArgument) as bad:
        sy.tune(
            ["true"],
            {"lr": sy.space.loguniform(0, 1)},
            metric="loss",
            num_trials=2,
            settings=switchyard_settings,
        )
    assert bad.value.field is not None and "lr" in bad.value.field
    with pytest.raises(sy.errors.InvalidArgument) as bad:
        sy.tune(["true"], {"x": 3}, metric="loss", num_trials=2, settings=switchyard_settings)  # type: ignore[dict-item]
    assert bad.value.field == "space.x"


def _why(study: sy.Study, settings: Settings) -> str:
    """The study's message and its first trial's log, for a failure's report."""
    trials = study.trials
    if not trials or not trials[0].job_id:
        return study.message
    with sy.JobsClient(settings=settings) as jobs:
        return f"{study.message}\n{trials[0].message}\n{jobs.get_job(trials[0].job_id).logs()}"
