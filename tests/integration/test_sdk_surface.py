"""The SDK surface of issue 13 on a real platform: sy.search_runs / get_run /
log_input as in MLflow, the namespaces, event-type constants as subjects, the
clients' closed gaps, and the AsyncJobsClient."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk import jobs


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_search_runs_gives_mlflow_columns(switchyard_fluent: None) -> None:
    exp = sy.set_experiment(_name("frame"))
    with sy.start_run(run_name="a", tags={"team": "x"}) as first:
        sy.log_param("lr", 0.1)
        sy.log_metric("loss", 0.5)
    with sy.start_run(run_name="b"):
        sy.log_metric("acc", 0.9)
    sy.flush()

    frame = sy.search_runs(order_by=["attributes.run_name ASC"])  # the active experiment
    assert list(frame.columns[:6]) == [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]
    assert {"metrics.loss", "metrics.acc", "params.lr", "tags.team"} <= set(frame.columns)
    assert list(frame["run_id"]) == [first.info.run_id, frame["run_id"][1]]
    assert frame["experiment_id"].tolist() == [exp.experiment_id] * 2
    assert frame["status"].tolist() == ["FINISHED", "FINISHED"]
    assert (
        str(frame["start_time"].dtype).startswith("datetime64") and frame["end_time"].notna().all()
    )
    assert frame["metrics.loss"][0] == 0.5 and frame["metrics.loss"].isna()[1]
    assert frame["params.lr"][0] == "0.1" and frame["params.lr"].isna()[1]

    by_name = sy.search_runs(experiment_names=[exp.name, "no-such-experiment"], max_results=1)
    assert len(by_name) == 1
    empty = sy.search_runs(experiment_names=["no-such-experiment"])
    assert len(empty) == 0 and "run_id" in empty.columns
    assert sy.get_run(first.info.run_id).data.params == {"lr": "0.1"}


def test_log_input_as_mlflow(switchyard_fluent: None) -> None:
    sy.set_experiment(_name("inputs"))
    with sy.start_run() as run:
        sy.log_input(sy.Dataset("train", "d1", source="s3://b/train"), context="training")
    inputs = sy.get_run(run.info.run_id).inputs
    assert [i.dataset.name for i in inputs] == ["train"]
    assert inputs[0].tags == {"mlflow.data.context": "training"}


def test_clients_closed_gaps(switchyard_settings: Settings, tmp_path: Path) -> None:
    with sy.Client(settings=switchyard_settings) as client:
        run_id = client.create_run(client.create_experiment(_name("gaps"))).info.run_id
        series = pb.MetricSeries(key="x", values=[1.0, 2.0], steps=[0, 1], timestamps=[5, 6])
        written = client.stream_metrics([pb.StreamMetricsRequest(run_id=run_id, series=[series])])
        assert written == 2
        assert [m.value for m in client.get_metric_history(run_id, "x")] == [1.0, 2.0]

    async def log_text() -> list[str]:
        async with sy.AsyncClient(settings=switchyard_settings) as client:
            await client.log_text(run_id, "hello", "notes/hello.txt")
            await client.flush()
            return [f.path for f in await client.list_artifacts(run_id, "notes")]

    assert asyncio.run(log_text()) == ["notes/hello.txt"]


def test_event_type_constants_are_subjects(switchyard_settings: Settings) -> None:
    stream = sy.events(sy.event_types.EXPERIMENT_CREATED, timeout=10, settings=switchyard_settings)
    with sy.Client(settings=switchyard_settings) as client:
        exp = client.create_experiment(_name("ev"))
    for event in stream:
        if event.subject == exp:
            assert event.type == sy.event_types.EXPERIMENT_CREATED
            assert isinstance(event.data, sy.event_types.EXPERIMENT_CREATED.payload)
            break


@pytest.fixture
def default_jobs(switchyard_settings: Settings) -> Iterator[None]:
    jobs.reset(switchyard_settings)
    yield
    jobs.reset()


def test_jobs_namespace(default_jobs: None) -> None:
    name = _name("ns")
    job = sy.jobs.submit("true", name=name, pool="nobody-here")
    assert sy.jobs.get(job.id).state == "QUEUED"
    assert [j.id for j in sy.jobs.list(name=name, states="QUEUED")] == [job.id]
    assert sy.jobs.cancel(job.id).state == "CANCELLED"
    assert sy.get_job(job.id).done


@pytest.fixture
async def async_jobs(switchyard_settings: Settings) -> AsyncIterator[sy.AsyncJobsClient]:
    async with sy.AsyncJobsClient(settings=switchyard_settings) as client:
        yield client


async def test_async_jobs_client(async_jobs: sy.AsyncJobsClient) -> None:
    name = _name("async")
    # Submitted together: they may share one SubmitJobs call, each gets its own job.
    submitted = await asyncio.gather(
        *(async_jobs.submit_job(["true"], name=name, pool="nobody-here") for _ in range(3))
    )
    assert len({j.id for j in submitted}) == 3
    job = submitted[0]
    assert (await async_jobs.get_job(job.id)).state == "QUEUED"
    listed = await async_jobs.list_jobs(name=name, states=["QUEUED"])
    assert {j.id for j in listed} == {j.id for j in submitted}
    assert await async_jobs.get_job_logs(job.id) == ""
    for j in submitted:
        assert (await j.cancel()).state == "CANCELLED"
    assert (await (await async_jobs.cancel_job(job.id)).refresh()).done  # twice is fine
    assert [line async for line in async_jobs.follow_job_logs(job.id)] == []
    with pytest.raises(sy.errors.NotFound):
        await async_jobs.get_job(uuid.uuid4().hex)

    pipe = sy.Pipeline(_name("pipe"))
    pipe.step("only", ["true"], pool="nobody-here")
    run = await async_jobs.run_pipeline(pipe)
    assert (await async_jobs.get_pipeline(run.id)).state == "RUNNING"
    running = await async_jobs.list_pipelines(state="RUNNING", limit=1000)
    assert run.id in {p.id for p in running}
    assert (await run.cancel()).state == "CANCELLED"  # its one job was queued: at once
    assert (await async_jobs.cancel_pipeline(run.id)).state == "CANCELLED"  # twice is fine
