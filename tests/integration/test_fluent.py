"""The fluent API (`sy.set_experiment`, `sy.start_run`, `sy.log_*`) as a user meets it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from uuid import uuid4

import pytest

import switchyard as sy

pytestmark = pytest.mark.usefixtures("switchyard_fluent")


def within(seconds: float, fn: Callable[[], object]) -> list[BaseException]:
    """Run `fn` in a thread and fail if it hangs; return what it raised."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{fn} did not return within {seconds} s"
    return raised


def test_set_experiment_creates_then_reuses(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    name = uniq()
    assert switchyard_client.get_experiment_by_name(name) is None
    exp = sy.set_experiment(name)
    assert isinstance(exp, sy.Experiment)
    assert exp.name == name and exp.lifecycle_stage == "active"
    assert switchyard_client.get_experiment_by_name(name) == exp
    again = sy.set_experiment(name)
    assert again.experiment_id == exp.experiment_id
    by_id = sy.set_experiment(experiment_id=exp.experiment_id)
    assert by_id.experiment_id == exp.experiment_id
    # runs start in the active experiment
    with sy.start_run() as run:
        assert run.info.experiment_id == exp.experiment_id


def test_set_experiment_errors(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    name = uniq()
    exp_id = switchyard_client.create_experiment(name)
    switchyard_client.delete_experiment(exp_id)
    with pytest.raises(sy.errors.FailedPrecondition):
        sy.set_experiment(name)
    with pytest.raises(sy.errors.NotFound):
        sy.set_experiment(experiment_id="987654321")
    with pytest.raises(ValueError):
        sy.set_experiment()


def test_start_run_block(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    exp = sy.set_experiment(uniq())
    assert sy.active_run() is None
    with sy.start_run(run_name="train", tags={"team": "ml", "n": 1}) as run:
        assert isinstance(run, sy.ActiveRun)
        assert sy.active_run() is run
        run_id = run.info.run_id
        assert len(run_id) == 32
        assert run.info.status == "RUNNING"
        assert run.info.run_name == "train"
        assert run.info.experiment_id == exp.experiment_id
        inside = switchyard_client.get_run(run_id)
        assert inside.info.status == "RUNNING" and inside.info.end_time is None
        assert inside.data.tags["team"] == "ml" and inside.data.tags["n"] == "1"
        assert inside.data.tags["mlflow.runName"] == "train"
    assert sy.active_run() is None
    after = switchyard_client.get_run(run_id)
    assert after.info.status == "FINISHED"
    assert after.info.end_time is not None and after.info.end_time >= after.info.start_time


def test_exception_marks_run_failed(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    sy.set_experiment(uniq())

    class Boom(Exception):
        pass

    with pytest.raises(Boom), sy.start_run() as run:
        sy.log_metric("before", 1.0)
        raise Boom
    info = switchyard_client.get_run(run.info.run_id)
    assert info.info.status == "FAILED" and info.info.end_time is not None
    assert info.data.metrics == {"before": 1.0}  # queued points were still sent
    assert sy.active_run() is None


def test_nested_runs(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    sy.set_experiment(uniq())
    with sy.start_run(run_name="outer") as outer:
        with pytest.raises(sy.errors.FailedPrecondition):
            sy.start_run()
        assert sy.active_run() is outer
        with sy.start_run(run_name="inner", nested=True) as inner:
            assert sy.active_run() is inner
            assert inner.info.parent_run_id == outer.info.run_id
            sy.log_param("level", "inner")
        assert sy.active_run() is outer
        assert switchyard_client.get_run(inner.info.run_id).info.status == "FINISHED"
        assert switchyard_client.get_run(outer.info.run_id).info.status == "RUNNING"
        sy.log_param("level", "outer")
    got = switchyard_client.get_run(inner.info.run_id)
    assert got.data.tags["mlflow.parentRunId"] == outer.info.run_id
    assert got.data.params == {"level": "inner"}
    assert switchyard_client.get_run(outer.info.run_id).data.params == {"level": "outer"}
    assert switchyard_client.get_run(outer.info.run_id).info.status == "FINISHED"


def test_logging_lands(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    sy.set_experiment(uniq())
    with sy.start_run() as run:
        assert sy.log_param("lr", 0.01) == 0.01
        sy.log_params({"depth": 6, "opt": "adam"})
        sy.log_metric("loss", 0.5, step=1)
        sy.log_metric("loss", 0.25, step=2)
        sy.log_metrics({"acc": 0.9, "f1": 0.8}, step=2)
        sy.set_tag("stage", "dev")
        sy.set_tags({"owner": "ann", "stage": "prod"})
        sy.set_tags({"mlflow.runName": "renamed"})
        sy.flush()
        data = run.data  # reads the run now
        assert data.metrics == {"loss": 0.25, "acc": 0.9, "f1": 0.8}
    got = switchyard_client.get_run(run.info.run_id)
    assert got.data.params == {"lr": "0.01", "depth": "6", "opt": "adam"}
    assert got.data.metrics == {"loss": 0.25, "acc": 0.9, "f1": 0.8}
    assert got.data.tags["stage"] == "prod" and got.data.tags["owner"] == "ann"
    assert got.info.run_name == got.data.tags["mlflow.runName"] == "renamed"
    history = switchyard_client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.25)]
    acc = switchyard_client.get_metric_history(run.info.run_id, "acc")
    f1 = switchyard_client.get_metric_history(run.info.run_id, "f1")
    assert acc[0].step == f1[0].step == 2 and acc[0].timestamp == f1[0].timestamp


def test_param_change_is_rejected(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    sy.set_experiment(uniq())
    with sy.start_run() as run:
        sy.log_param("lr", 0.1)
        with pytest.raises(sy.errors.InvalidArgument) as err:
            sy.log_params({"other": 1, "lr": 0.2})
        assert "lr" in err.value.message
    assert switchyard_client.get_run(run.info.run_id).data.params == {"lr": "0.1"}


def test_tight_loop_metrics_all_arrive(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    sy.set_experiment(uniq())
    n = 50_000
    with sy.start_run() as run:
        for step in range(n):
            sy.log_metric("loss", 1.0 / (step + 1), step=step)
        # the loop returns long before the points are stored; the block's end waits
    history = switchyard_client.get_metric_history(run.info.run_id, "loss")
    assert len(history) == n
    assert [m.step for m in history] == list(range(n))
    assert history[-1].value == 1.0 / n
    got = switchyard_client.get_run(run.info.run_id)
    assert got.data.metrics["loss"] == 1.0 / n
    assert got.info.status == "FINISHED"


def test_invalid_metric_raised_at_end_of_block(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    sy.set_experiment(uniq())
    with pytest.raises(sy.errors.InvalidArgument) as err:
        with sy.start_run() as run:
            sy.log_metric("ok", 1.0)
            sy.log_metric("bad key!", 1.0)
    assert err.value.field == "metrics.key"
    assert sy.active_run() is None
    got = switchyard_client.get_run(run.info.run_id)
    assert got.info.status != "RUNNING"  # the run was ended all the same


def test_invalid_metric_raised_at_next_call(uniq: Callable[..., str]) -> None:
    sy.set_experiment(uniq())
    with sy.start_run():
        sy.log_metric("bad key!", 1.0)
        deadline = time.monotonic() + 10
        with pytest.raises(sy.errors.InvalidArgument) as err:
            while time.monotonic() < deadline:  # sent in the background within ~0.2 s
                sy.log_metric("fine", 1.0)
                time.sleep(0.02)
        assert err.value.field == "metrics.key"
        sy.flush()  # raised once: nothing more pending


@pytest.mark.parametrize("pause", [0.0, 0.25])
def test_invalid_metric_raised_at_flush_and_end_run(
    switchyard_client: sy.Client, pause: float, uniq: Callable[..., str]
) -> None:
    sy.set_experiment(uniq())

    def scenario() -> None:  # runs are per thread: the whole story in one
        run = sy.start_run()
        sy.log_metric("bad key!", 1.0)
        with pytest.raises(sy.errors.InvalidArgument):
            sy.flush()
        sy.log_metric("good", 2.0)
        sy.flush()
        sy.log_metric("worse key?", 1.0)
        time.sleep(pause)  # let it fail in the background first, or not
        with pytest.raises(sy.errors.InvalidArgument) as err:
            sy.end_run()
        assert "worse key?" in err.value.message
        assert sy.active_run() is None
        got = switchyard_client.get_run(run.info.run_id)
        assert got.info.status != "RUNNING"
        assert got.data.metrics == {"good": 2.0}

    raised = within(30, scenario)  # a hang here is a bug, not a slow test
    if raised:
        raise raised[0]


def test_logging_without_a_run_starts_one(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    exp = sy.set_experiment(uniq())
    assert sy.active_run() is None
    sy.log_param("auto", "yes")
    run = sy.active_run()
    assert run is not None and run.info.experiment_id == exp.experiment_id
    sy.end_run()
    assert sy.active_run() is None
    got = switchyard_client.get_run(run.info.run_id)
    assert got.data.params == {"auto": "yes"} and got.info.status == "FINISHED"
    sy.end_run()  # nothing active: a no-op


def test_end_run_with_status(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    sy.set_experiment(uniq())
    run = sy.start_run()
    sy.end_run("KILLED")
    assert switchyard_client.get_run(run.info.run_id).info.status == "KILLED"


def test_resume_run_by_id(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    exp_id = switchyard_client.create_experiment(uniq())
    rid = switchyard_client.create_run(exp_id).info.run_id
    switchyard_client.set_terminated(rid)
    with sy.start_run(run_id=rid) as run:
        assert run.info.run_id == rid
        assert switchyard_client.get_run(rid).info.status == "RUNNING"
        sy.log_metric("resumed", 1.0)
    got = switchyard_client.get_run(rid)
    assert got.info.status == "FINISHED" and got.data.metrics == {"resumed": 1.0}
    with pytest.raises(sy.errors.NotFound):
        sy.start_run(run_id=uuid4().hex)
    assert sy.active_run() is None


def test_runs_per_thread(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    sy.set_experiment(uniq())
    found: dict[str, str] = {}

    def work(name: str) -> None:
        with sy.start_run(run_name=name) as run:
            for step in range(1000):
                sy.log_metric("x", float(step), step=step)
            found[name] = run.info.run_id

    with sy.start_run(run_name="main") as main:
        threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sy.active_run() is main
    assert len(set(found.values())) == 3
    for rid in found.values():
        got = switchyard_client.get_run(rid)
        assert got.info.parent_run_id is None
        assert len(switchyard_client.get_metric_history(rid, "x")) == 1000
