"""How pipelines end: after a failure only once every started step has ended,
CANCELLED on request; listing by state with pages; bad ids."""

from __future__ import annotations

import time
from uuid import uuid4

import pytest
from test_scheduler_jobs import jobs, start_workers  # noqa: F401  (module fixtures)
from typer.testing import CliRunner

import switchyard as sy
from switchyard import errors
from switchyard.cli.main import app
from switchyard.core.config import Settings
from switchyard.sdk.jobs import JobsClient
from switchyard.sdk.scheduler_pipelines import Pipeline, PipelineRun, run_pipeline
from switchyard.testing.platform import LocalPlatform


@pytest.fixture(scope="module")
def pool(start_workers: object) -> str:  # noqa: F811
    name = f"ending-{uuid4().hex[:6]}"
    start_workers(name, count=1, cpus=4)  # type: ignore[operator]
    return name


def step_states(run: PipelineRun) -> dict[str, str]:
    return {s.step: s.state for s in run.steps}


def until(run: PipelineRun, ready: object, timeout: float = 20) -> PipelineRun:
    deadline = time.monotonic() + timeout
    while not ready(step_states(run.refresh())):  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{run}: {step_states(run)}"
        time.sleep(0.05)
    return run


def test_a_failed_step_waits_for_its_running_sibling(
    jobs: JobsClient,  # noqa: F811
    pool: str,
) -> None:
    pipe = Pipeline(f"sibling-{uuid4().hex[:6]}")
    fast = pipe.step("fast", "exit 3", pool=pool, cpus=0.5)
    slow = pipe.step("slow", "sleep 3", pool=pool, cpus=0.5)
    pipe.step("after-fast", "true", after=[fast], pool=pool, cpus=0.5)
    pipe.step("after-slow", "true", after=[slow], pool=pool, cpus=0.5)
    run = run_pipeline(pipe, client=jobs)
    until(run, lambda s: s.get("fast") == "FAILED")
    assert run.state == "RUNNING" and not run.done  # `slow` still runs
    assert step_states(run)["slow"] in ("QUEUED", "ADMITTED", "RUNNING")
    assert run.skipped == ["after-fast", "after-slow"]  # nothing more will start

    run.wait(timeout=30)
    assert (run.state, run.message) == ("FAILED", "step 'fast' failed")
    assert step_states(run) == {
        "fast": "FAILED",
        "slow": "SUCCEEDED",
        "after-fast": "SKIPPED",
        "after-slow": "SKIPPED",
    }
    slow_job = jobs.get_job(next(s.job_id for s in run.steps if s.step == "slow"))
    assert run.finished_ms >= slow_job._proto.finished_ms
    assert all(not s.job_id for s in run.steps if s.state == "SKIPPED")


def test_a_failed_fan_out_member_waits_for_the_others(
    jobs: JobsClient,  # noqa: F811
    pool: str,
) -> None:
    pipe = Pipeline(f"members-{uuid4().hex[:6]}")
    fan = pipe.step(
        "fan",
        'if [ "$SY_ITEM" = 0 ]; then exit 5; fi; sleep 2',
        for_each=[0, 1],
        pool=pool,
        cpus=0.5,
    )
    pipe.step("then", "true", after=[fan], pool=pool, cpus=0.5)
    run = run_pipeline(pipe, client=jobs)
    until(run, lambda s: "then" in s)  # SKIPPED as soon as member 0 failed
    assert run.state == "RUNNING"
    run.wait(timeout=30)
    assert (run.state, run.message) == ("FAILED", "step 'fan' failed")
    assert sorted(s.state for s in run.steps if s.step == "fan") == ["FAILED", "SUCCEEDED"]


def test_cancel_stops_the_running_step_and_skips_the_rest(
    jobs: JobsClient,  # noqa: F811
    pool: str,
    switchyard_platform: LocalPlatform,
) -> None:
    pipe = Pipeline(f"cancelled-{uuid4().hex[:6]}")
    long = pipe.step("long", "sleep 60", pool=pool, cpus=0.5)
    pipe.step("next", "true", after=[long], pool=pool, cpus=0.5)
    run = run_pipeline(pipe, client=jobs)
    until(run, lambda s: s.get("long") == "RUNNING")

    asked = sy.pipelines.cancel(run.id, client=jobs)
    assert asked.cancel_requested and step_states(asked)["next"] == "SKIPPED"
    asked.wait(timeout=30)
    assert (asked.state, asked.message) == ("CANCELLED", "cancelled")
    long_job = jobs.get_job(next(s.job_id for s in asked.steps if s.step == "long"))
    assert long_job.state == "CANCELLED"
    assert step_states(asked) == {"long": "CANCELLED", "next": "SKIPPED"}

    again = jobs.cancel_pipeline(run.id)  # an ended pipeline: as it is, as CancelJob answers
    assert (again.state, again.finished_ms) == ("CANCELLED", asked.finished_ms)
    stream = sy.events(
        "sy.scheduler.pipeline.>",
        deliver="all",
        timeout=1.0,
        settings=switchyard_platform.client_settings(),
    )
    kinds = [e.type for e in stream if e.subject == run.id]
    assert kinds == ["sy.scheduler.pipeline.started", "sy.scheduler.pipeline.cancelled"]


def test_cancel_of_queued_steps_ends_at_once_and_the_cli_cancels(
    jobs: JobsClient,  # noqa: F811
    switchyard_settings: Settings,
) -> None:
    pipe = Pipeline(f"queued-{uuid4().hex[:6]}")
    pipe.step("waits", "true", pool=f"nobody-{uuid4().hex[:6]}", cpus=0.5)  # no worker: QUEUED
    run = run_pipeline(pipe, client=jobs)
    cli = CliRunner(env={"SWITCHYARD_HOME": str(switchyard_settings.home), "COLUMNS": "200"})
    out = cli.invoke(app, ["pipelines", "cancel", run.id])
    assert out.exit_code == 0, out.output
    assert out.output.strip().endswith("CANCELLED")
    assert step_states(run.refresh()) == {"waits": "CANCELLED"}
    again = cli.invoke(app, ["pipelines", "cancel", run.id])
    assert again.exit_code == 1 and "already ended CANCELLED" in again.output
    shown = cli.invoke(app, ["pipelines", "ls", "--state", "CANCELLED", "--limit", "5"])
    assert shown.exit_code == 0 and run.id in shown.output, shown.output


def test_list_by_state_in_pages_newest_first(
    jobs: JobsClient,  # noqa: F811
    pool: str,
) -> None:
    tag = uuid4().hex[:6]
    ids = []
    for i in range(3):
        pipe = Pipeline(f"paged-{tag}-{i}")
        pipe.step("one", "true", pool=pool, cpus=0.5)
        ids.append(run_pipeline(pipe, client=jobs).wait(timeout=30).id)
    first = sy.pipelines.list("SUCCEEDED", limit=2, client=jobs)
    assert [p.id for p in first] == ids[:0:-1] and first.token
    second = jobs.list_pipelines(state=["SUCCEEDED"], limit=2, page_token=first.token)
    assert second[0].id == ids[0]
    assert all(p.state == "SUCCEEDED" for p in [*first, *second])
    failed = jobs.list_pipelines(state="FAILED", limit=100)
    assert not {p.id for p in failed} & set(ids)
    assert all(p.state == "FAILED" for p in failed)
    with pytest.raises(errors.InvalidArgument, match="different search") as other:
        jobs.list_pipelines(state="FAILED", limit=2, page_token=first.token)
    assert other.value.field == "page_token"
    with pytest.raises(errors.InvalidArgument) as bad:
        jobs.list_pipelines(limit=2, page_token="not-a-token")
    assert bad.value.field == "page_token"
    with pytest.raises(errors.InvalidArgument, match="unknown state") as state:
        jobs.list_pipelines(state="DONE")
    assert state.value.field == "state"


def test_bad_and_unknown_pipeline_ids(jobs: JobsClient) -> None:  # noqa: F811
    for call in (jobs.cancel_pipeline, jobs.get_pipeline):
        with pytest.raises(errors.InvalidArgument, match="not a pipeline id") as bad:
            call("nope")
        assert bad.value.field == "pipeline_id"
        with pytest.raises(errors.NotFound):
            call(uuid4().hex)
