"""Pipelines end to end: fan-out, fan-in, output passing, caching, the Python DSL."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from test_scheduler_jobs import jobs, start_workers  # noqa: F401  (module fixtures)
from typer.testing import CliRunner

import switchyard as sy
from switchyard import errors
from switchyard.cli.main import app
from switchyard.core.config import Settings
from switchyard.sdk.jobs import JobsClient
from switchyard.sdk.scheduler_pipelines import Pipeline, run_pipeline

HERE = str(Path(__file__).parent)


@pytest.fixture(scope="module")
def pool(start_workers: object) -> str:  # noqa: F811
    name = f"pipes-{uuid4().hex[:6]}"
    start_workers(name, count=1, cpus=4)  # type: ignore[operator]
    return name


def write(outputs: str) -> str:
    return f"echo '{outputs}' > $SWITCHYARD_OUTPUTS"


def test_fan_out_fan_in_and_cache(jobs: JobsClient, pool: str) -> None:  # noqa: F811
    salt = uuid4().hex[:6]  # a fresh cache key for this test run

    def build() -> Pipeline:
        pipe = Pipeline("squares")
        make = pipe.step("make", write('{"xs": [1, 2, 3]}'), pool=pool, cpus=0.5)
        square = pipe.step(
            "square",
            ["sh", "-c", 'echo "{\\"y\\": $(({{item}} * {{item}}))}" > $SWITCHYARD_OUTPUTS'],
            for_each=make.output("xs"),
            pool=pool,
            cpus=0.5,
        )
        pipe.step(
            "total",
            ["sh", "-c", "echo " + salt + " {{inputs.ys}}; " + write('{"all": {{inputs.ys}}}')],
            inputs={"ys": square.output("y")},
            cache=True,
            pool=pool,
            cpus=0.5,
        )
        return pipe

    first = run_pipeline(build(), client=jobs).wait(timeout=60)
    assert first.state == "SUCCEEDED", first.message
    assert [o["y"] for o in first.outputs("square")] == ["1", "4", "9"]
    assert first.outputs("total") == [{"all": '["1", "4", "9"]'}]
    assert not any(s.cached for s in first.steps)

    second = run_pipeline(build(), client=jobs).wait(timeout=60)
    assert second.state == "SUCCEEDED"
    cached = {s.step: s.cached for s in second.steps}
    assert cached == {"make": False, "square": False, "total": True}
    assert second.outputs("total") == first.outputs("total")

    from typer.testing import CliRunner

    from switchyard.cli.main import app

    home = str(jobs.settings.home)
    shown = CliRunner(env={"SWITCHYARD_HOME": home, "COLUMNS": "250"}).invoke(
        app, ["pipelines", "show", second.id]
    )
    assert shown.exit_code == 0, shown.output
    assert f"{second.id} SUCCEEDED" in shown.output and "yes" in shown.output


def test_failed_step_fails_the_pipeline_after_its_retries(
    jobs: JobsClient,  # noqa: F811
    pool: str,
) -> None:
    pipe = Pipeline("fails")
    bad = pipe.step("bad", "exit 4", pool=pool, max_retries=1, cpus=0.5)
    pipe.step("never", "true", after=[bad], pool=pool, cpus=0.5)
    run = run_pipeline(pipe, client=jobs).wait(timeout=30)
    assert run.state == "FAILED" and "bad" in run.message
    assert [(s.step, s.state) for s in run.steps] == [("bad", "FAILED"), ("never", "SKIPPED")]
    assert jobs.get_job(run.steps[0].job_id).attempt == 2


@sy.step(cpus=0.5, workdir=HERE)
def numbers(n: int) -> dict[str, list[int]]:
    return {"xs": list(range(1, n + 1))}


@sy.step(cpus=0.5, workdir=HERE)
def double(x: int) -> dict[str, int]:
    return {"y": 2 * x}


@sy.step(cpus=0.5, workdir=HERE)
def add(ys: list[str]) -> dict[str, int]:
    return {"total": sum(int(y) for y in ys)}


def test_python_dsl(jobs: JobsClient, pool: str) -> None:  # noqa: F811
    for fn in (numbers, double, add):
        fn.options["pool"] = pool
    with Pipeline("dsl") as pipe:
        xs = numbers(n=2)
        ys = double.map("x", xs.output("xs"))
        add(ys=ys.output("y"))
    run = run_pipeline(pipe, client=jobs).wait(timeout=60)
    logs = {s.step: jobs.get_job(s.job_id).logs() for s in run.steps if s.job_id}
    assert run.state == "SUCCEEDED", (run.message, logs)
    assert run.outputs("double") == [{"y": "2"}, {"y": "4"}]
    assert run.outputs("add") == [{"total": "6"}]


def test_bad_pipelines_are_rejected(jobs: JobsClient) -> None:  # noqa: F811
    cyclic = Pipeline("cyclic")
    cyclic.step("a", "true", after=["b"])
    cyclic.step("b", "true", after=["a"])
    with pytest.raises(errors.InvalidArgument, match="cycle: a -> b -> a") as bad:
        run_pipeline(cyclic, client=jobs)
    assert bad.value.field == "steps"
    unknown = Pipeline("unknown")
    unknown.step("a", "true", inputs={"x": "{{steps.zzz.outputs.k}}"})
    with pytest.raises(errors.InvalidArgument, match="unknown step 'zzz'"):
        run_pipeline(unknown, client=jobs)


def test_pipelines_are_listed_newest_first(
    jobs: JobsClient,  # noqa: F811
    pool: str,
    switchyard_settings: Settings,
) -> None:
    names = [f"listed-{uuid4().hex[:6]}" for _ in range(2)]
    for name in names:
        pipe = Pipeline(name)
        pipe.step("one", "true", pool=pool, cpus=0.5)
        run_pipeline(pipe, client=jobs).wait(timeout=30)
    newest = jobs.list_pipelines(limit=2)
    assert [p.name for p in newest] == names[::-1]
    assert newest[0].state == "SUCCEEDED" and newest[0].step_names == ["one"]
    assert newest[0].steps == []  # a listing leaves the step runs to get_pipeline
    with pytest.raises(sy.errors.InvalidArgument):
        jobs.list_pipelines(limit=-1)
    shown = CliRunner(env={"SWITCHYARD_HOME": str(switchyard_settings.home), "COLUMNS": "200"})
    listed = shown.invoke(app, ["pipelines", "ls", "--limit", "2"])
    assert listed.exit_code == 0, listed.output
    assert names[0] in listed.output and newest[0].id in listed.output
