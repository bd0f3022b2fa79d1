"""The real `mlflow` client (mlflow-skinny 3.x) against the web edge: tracking and artifacts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import require_module

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.testing.platform import LocalPlatform

# The MLflow client warns about its own deprecations (stages, type hints); not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning", "ignore::FutureWarning", "ignore::DeprecationWarning"
)
mlflow = require_module("mlflow", "the test extra pins mlflow-skinny")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402


@pytest.fixture(scope="module")
def web_url(switchyard_platform: LocalPlatform) -> str:
    return switchyard_platform.endpoints.http["web"]


@pytest.fixture
def tracking(web_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlflowClient]:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    mlflow.set_tracking_uri(web_url)
    yield MlflowClient(web_url)
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def test_fluent_run_round_trip(
    tracking: MlflowClient, tmp_path: Path, uniq: Callable[..., str]
) -> None:
    name = uniq()
    exp = mlflow.set_experiment(name)
    assert exp.name == name and exp.lifecycle_stage == "active"
    with mlflow.start_run(run_name="first") as run:
        mlflow.log_param("lr", 0.1)
        mlflow.log_params({"depth": 3, "opt": "adam"})
        mlflow.log_metric("loss", 1.5, step=0)
        mlflow.log_metric("loss", 0.5, step=1)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=1)
        mlflow.set_tag("team", "risk")
        (tmp_path / "notes.txt").write_text("hello")
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "a.json").write_text("{}")
        mlflow.log_artifact(str(tmp_path / "notes.txt"))
        mlflow.log_artifacts(str(tmp_path / "d"), artifact_path="more")
    got = tracking.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "first"
    assert got.info.end_time and got.info.experiment_id == exp.experiment_id
    assert got.data.params == {"lr": "0.1", "depth": "3", "opt": "adam"}
    assert got.data.metrics == {"loss": 0.5, "acc": 0.9, "f1": 0.8}
    assert got.data.tags["team"] == "risk"
    history = tracking.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.5), (1, 0.5)]
    files = {f.path: f for f in tracking.list_artifacts(run.info.run_id)}
    assert set(files) == {"notes.txt", "more"} and files["more"].is_dir
    assert files["notes.txt"].file_size == 5
    nested = [f.path for f in tracking.list_artifacts(run.info.run_id, "more")]
    assert nested == ["more/a.json"]
    local = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="notes.txt", dst_path=str(tmp_path / "dl")
    )
    assert Path(local).read_text() == "hello"


def test_async_logging_and_batches(tracking: MlflowClient, uniq: Callable[..., str]) -> None:
    mlflow.set_experiment(uniq())
    with mlflow.start_run() as run:
        for step in range(50):
            mlflow.log_metric("x", float(step), step=step, synchronous=False)
        mlflow.log_params({f"p{i}": i for i in range(150)}, synchronous=False)
        mlflow.log_metrics({f"m{i}": float(i) for i in range(1500)}, step=0)
        mlflow.flush_async_logging()
    got = tracking.get_run(run.info.run_id)
    assert len(got.data.params) == 150 and len(got.data.metrics) == 1501
    assert [m.step for m in tracking.get_metric_history(run.info.run_id, "x")] == list(range(50))
    tracking.log_batch(
        run.info.run_id,
        metrics=[Metric("y", 1.0, 1, 0)],
        params=[Param("q", "1")],
        tags=[RunTag("t", "v")],
    )
    assert tracking.get_run(run.info.run_id).data.tags["t"] == "v"


def test_long_history_pages(tracking: MlflowClient, uniq: Callable[..., str]) -> None:
    exp_id = tracking.create_experiment(uniq())
    run = tracking.create_run(exp_id)
    for start in range(0, 30_000, 1000):
        tracking.log_batch(
            run.info.run_id,
            metrics=[Metric("h", float(i), 1, i) for i in range(start, start + 1000)],
        )
    history = tracking.get_metric_history(run.info.run_id, "h")
    assert [m.step for m in history] == list(range(30_000))  # two pages of 25,000


def test_nested_runs_and_search(tracking: MlflowClient, uniq: Callable[..., str]) -> None:
    exp = mlflow.set_experiment(uniq())
    with mlflow.start_run(run_name="parent") as parent:
        for i in range(3):
            with mlflow.start_run(run_name=f"child{i}", nested=True):
                mlflow.log_metric("acc", 0.5 + i / 10)
                mlflow.log_param("i", i)
                mlflow.set_tag("kind", "odd" if i % 2 else "even")
    pid = parent.info.run_id
    children = tracking.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{pid}'",
        order_by=["metrics.acc DESC"],
    )
    assert [r.info.run_name for r in children] == ["child2", "child1", "child0"]
    found = tracking.search_runs([exp.experiment_id], "metrics.acc > 0.55 and tags.kind = 'even'")
    assert [r.info.run_name for r in found] == ["child2"]
    df = mlflow.search_runs([exp.experiment_id], order_by=["params.i ASC"])
    assert len(df) == 4
    paged = tracking.search_runs([exp.experiment_id], max_results=2)
    assert len(paged) == 2 and paged.token
    rest = tracking.search_runs([exp.experiment_id], max_results=2, page_token=paged.token)
    assert len(rest) == 2 and not rest.token


def test_experiment_lifecycle(tracking: MlflowClient, uniq: Callable[..., str]) -> None:
    name = uniq()
    exp_id = tracking.create_experiment(name, tags={"a": "1"})
    tracking.set_experiment_tag(exp_id, "b", "2")
    tracking.rename_experiment(exp_id, name + "-x")
    exp = tracking.get_experiment_by_name(name + "-x")
    assert exp is not None and exp.tags == {"a": "1", "b": "2"}
    assert tracking.get_experiment_by_name(name) is None
    tracking.delete_experiment(exp_id)
    assert tracking.get_experiment(exp_id).lifecycle_stage == "deleted"
    tracking.restore_experiment(exp_id)
    found = tracking.search_experiments(filter_string=f"name = '{name}-x'")
    assert [e.experiment_id for e in found] == [exp_id]


def test_run_lifecycle_and_tags(tracking: MlflowClient, uniq: Callable[..., str]) -> None:
    exp_id = tracking.create_experiment(uniq())
    run = tracking.create_run(exp_id, tags={"k": "v"})
    tracking.set_tag(run.info.run_id, "gone", "1")
    tracking.delete_tag(run.info.run_id, "gone")
    tracking.update_run(run.info.run_id, status="KILLED", name="renamed")
    got = tracking.get_run(run.info.run_id)
    assert got.info.status == "KILLED" and got.info.run_name == "renamed"
    assert "gone" not in got.data.tags and got.data.tags["k"] == "v"
    tracking.delete_run(run.info.run_id)
    assert tracking.search_runs([exp_id]) == []
    assert len(tracking.search_runs([exp_id], run_view_type=3)) == 1
    tracking.restore_run(run.info.run_id)
    assert tracking.get_run(run.info.run_id).info.lifecycle_stage == "active"


def test_both_doors_see_the_same_runs(
    tracking: MlflowClient, switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    with sy.Client(settings=switchyard_settings) as client:
        exp_id = client.create_experiment(uniq())
        sdk_run = client.create_run(exp_id, run_name="from-sdk")
        client.log_metric(sdk_run.info.run_id, "m", 2.0, step=3)
        client.log_param(sdk_run.info.run_id, "p", "x")
        seen = tracking.get_run(sdk_run.info.run_id)
        assert seen.data.metrics == {"m": 2.0} and seen.data.params == {"p": "x"}
        mlf_run = tracking.create_run(exp_id, run_name="from-mlflow")
        tracking.log_metric(mlf_run.info.run_id, "n", 5.0, step=7)
        tracking.set_terminated(mlf_run.info.run_id)
        back = client.get_run(mlf_run.info.run_id)
        assert back.info.status == "FINISHED" and back.data.metrics == {"n": 5.0}
        assert [m.step for m in client.get_metric_history(mlf_run.info.run_id, "n")] == [7]
