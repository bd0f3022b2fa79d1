"""Runs through `sy.Client`: lifecycle, params, tags, batches, inputs, errors."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import uuid4

import pytest

import switchyard as sy
from switchyard.core.config import Settings


@dataclass(frozen=True)
class Param:  # shaped as mlflow.entities.Param
    key: str
    value: str


@pytest.fixture
def exp_id(switchyard_client: sy.Client, uniq: Callable[..., str]) -> str:
    return switchyard_client.create_experiment(uniq())


@pytest.fixture
def run_id(switchyard_client: sy.Client, exp_id: str) -> str:
    return switchyard_client.create_run(exp_id).info.run_id


def test_create_run(switchyard_client: sy.Client, exp_id: str) -> None:
    start = int(time.time() * 1000) - 60_000
    run = switchyard_client.create_run(
        exp_id, start_time=start, tags={"team": "ml", "n": 1}, run_name="first"
    )
    info = run.info
    assert isinstance(run, sy.Run) and isinstance(info, sy.RunInfo)
    assert re.fullmatch(r"[0-9a-f]{32}", info.run_id)
    assert info.run_uuid == info.run_id
    assert info.run_name == "first"
    assert info.experiment_id == exp_id
    assert info.status == "RUNNING"
    assert info.start_time == start
    assert info.end_time is None
    assert info.lifecycle_stage == "active"
    assert info.parent_run_id is None
    exp = switchyard_client.get_experiment(exp_id)
    assert info.artifact_uri == f"{exp.artifact_location}/{info.run_id}/artifacts"
    assert run.data.tags == {"team": "ml", "n": "1", "mlflow.runName": "first"}

    got = switchyard_client.get_run(info.run_id)
    assert got.info == info
    assert got.data.tags == run.data.tags
    assert got.data.params == {} and got.data.metrics == {}
    assert got.inputs == []


def test_create_run_defaults(switchyard_client: sy.Client, exp_id: str) -> None:
    before = int(time.time() * 1000)
    run = switchyard_client.create_run(exp_id)
    assert run.info.run_name  # a generated name
    assert run.data.tags["mlflow.runName"] == run.info.run_name
    assert before - 5 <= run.info.start_time <= int(time.time() * 1000) + 5
    # the name may also come from the mlflow.runName tag
    named = switchyard_client.create_run(exp_id, tags={"mlflow.runName": "from-tag"})
    assert named.info.run_name == "from-tag"
    # no experiment: the Default one
    default = switchyard_client.create_run()
    assert default.info.experiment_id == "0"


def test_create_run_errors(switchyard_client: sy.Client, exp_id: str) -> None:
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.create_run("987654321")
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.create_run(exp_id, run_name="x" * 501)
    assert err.value.field == "run_name"
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.create_run(exp_id, tags={"bad key!": "v"})
    assert err.value.field == "tags.key"


def test_nested_run(switchyard_client: sy.Client, exp_id: str, uniq: Callable[..., str]) -> None:
    parent = switchyard_client.create_run(exp_id, run_name="parent")
    child = switchyard_client.create_run(exp_id, run_name="child", parent_run_id=parent.info.run_id)
    assert child.info.parent_run_id == parent.info.run_id
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    got = switchyard_client.get_run(child.info.run_id)
    assert got.info.parent_run_id == parent.info.run_id
    assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert switchyard_client.get_run(parent.info.run_id).info.parent_run_id is None

    with pytest.raises(sy.errors.NotFound):
        switchyard_client.create_run(exp_id, parent_run_id=uuid4().hex)
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.create_run(exp_id, parent_run_id="nope")
    other = switchyard_client.create_experiment(uniq())
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.create_run(other, parent_run_id=parent.info.run_id)
    assert err.value.field == "parent_run_id"


def test_get_run_data(switchyard_client: sy.Client, run_id: str) -> None:
    switchyard_client.log_param(run_id, "lr", 0.01)
    switchyard_client.log_param(run_id, "layers", 3)
    switchyard_client.log_metric(run_id, "acc", 0.5, step=1)
    switchyard_client.log_metric(run_id, "acc", 0.75, step=2)
    switchyard_client.log_metric(run_id, "loss", 1.5)
    switchyard_client.set_tag(run_id, "stage", "dev")
    data = switchyard_client.get_run(run_id).data
    assert isinstance(data, sy.RunData)
    assert data.params == {"lr": "0.01", "layers": "3"}
    assert data.metrics == {"acc": 0.75, "loss": 1.5}
    assert data.tags["stage"] == "dev"
    assert "mlflow.runName" in data.tags


def test_update_and_terminate(switchyard_client: sy.Client, exp_id: str) -> None:
    run = switchyard_client.create_run(exp_id, run_name="before")
    rid = run.info.run_id

    info = switchyard_client.update_run(rid, status="SCHEDULED")
    assert info.status == "SCHEDULED" and info.end_time is None
    info = switchyard_client.update_run(rid, name="after")
    assert info.run_name == "after" and info.status == "SCHEDULED"
    got = switchyard_client.get_run(rid)
    assert got.info.run_name == "after"
    assert got.data.tags["mlflow.runName"] == "after"

    info = switchyard_client.set_terminated(rid)
    assert info.status == "FINISHED"
    assert info.end_time is not None and info.end_time >= run.info.start_time
    got = switchyard_client.get_run(rid)
    assert got.info.status == "FINISHED" and got.info.end_time == info.end_time

    other = switchyard_client.create_run(exp_id).info.run_id
    info = switchyard_client.set_terminated(
        other, status="FAILED", end_time=run.info.start_time + 7
    )
    assert info.status == "FAILED" and info.end_time == run.info.start_time + 7
    info = switchyard_client.set_terminated(
        switchyard_client.create_run(exp_id).info.run_id, "KILLED"
    )
    assert info.status == "KILLED" and info.end_time is not None

    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.update_run(rid, status="DONE")
    assert err.value.field == "status"
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.update_run(uuid4().hex, status="FINISHED")
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.set_terminated("malformed-id")


def test_delete_and_restore(switchyard_client: sy.Client, exp_id: str) -> None:
    rid = switchyard_client.create_run(exp_id).info.run_id
    keep = switchyard_client.create_run(exp_id).info.run_id
    switchyard_client.log_param(rid, "p", 1)

    switchyard_client.delete_run(rid)
    assert switchyard_client.get_run(rid).info.lifecycle_stage == "deleted"
    assert [r.info.run_id for r in switchyard_client.search_runs([exp_id])] == [keep]
    deleted = switchyard_client.search_runs([exp_id], run_view_type="deleted_only")
    assert [r.info.run_id for r in deleted] == [rid]
    assert {
        r.info.run_id for r in switchyard_client.search_runs([exp_id], run_view_type="all")
    } == {
        rid,
        keep,
    }

    # a deleted run takes no writes
    for write in (
        lambda: switchyard_client.log_param(rid, "q", 1),
        lambda: switchyard_client.log_metric(rid, "m", 1.0),
        lambda: switchyard_client.set_tag(rid, "t", "v"),
        lambda: switchyard_client.delete_tag(rid, "mlflow.runName"),
        lambda: switchyard_client.log_batch(rid, [sy.Metric("m", 1.0, 1, 0)]),
        lambda: switchyard_client.log_inputs(rid, [sy.Dataset("d", "abc")]),
    ):
        with pytest.raises(sy.errors.FailedPrecondition):
            write()
    data = switchyard_client.get_run(rid).data
    assert data.params == {"p": "1"} and data.metrics == {} and "t" not in data.tags

    switchyard_client.delete_run(rid)  # twice is harmless
    switchyard_client.restore_run(rid)
    assert switchyard_client.get_run(rid).info.lifecycle_stage == "active"
    switchyard_client.log_param(rid, "q", 2)
    assert switchyard_client.get_run(rid).data.params == {"p": "1", "q": "2"}

    with pytest.raises(sy.errors.NotFound):
        switchyard_client.delete_run(uuid4().hex)
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.restore_run(uuid4().hex)


def test_tags(switchyard_client: sy.Client, run_id: str) -> None:
    switchyard_client.set_tag(run_id, "color", "red")
    switchyard_client.set_tag(run_id, "color", "blue")
    switchyard_client.set_tag(run_id, "size", 3)
    tags = switchyard_client.get_run(run_id).data.tags
    assert tags["color"] == "blue" and tags["size"] == "3"

    switchyard_client.delete_tag(run_id, "color")
    tags = switchyard_client.get_run(run_id).data.tags
    assert "color" not in tags and tags["size"] == "3"
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.delete_tag(run_id, "color")

    # the run name and its tag stay in step, whichever call sets the tag
    switchyard_client.set_tag(run_id, "mlflow.runName", "renamed")
    assert switchyard_client.get_run(run_id).info.run_name == "renamed"
    switchyard_client.log_batch(run_id, tags={"mlflow.runName": "batch-renamed"})
    run = switchyard_client.get_run(run_id)
    assert run.info.run_name == run.data.tags["mlflow.runName"] == "batch-renamed"
    found = switchyard_client.search_runs([run.info.experiment_id], "run_name = 'batch-renamed'")
    assert [r.info.run_id for r in found] == [run_id]

    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.set_tag(run_id, "x", "v" * 8001)
    assert err.value.field is not None and err.value.field.startswith("tags")
    switchyard_client.set_tag(run_id, "big", "v" * 8000)
    assert len(switchyard_client.get_run(run_id).data.tags["big"]) == 8000


def test_log_param_is_immutable(switchyard_client: sy.Client, run_id: str) -> None:
    assert switchyard_client.log_param(run_id, "lr", 0.1) == 0.1
    switchyard_client.log_param(run_id, "lr", 0.1)  # the same value again is fine
    switchyard_client.log_param(run_id, "lr", "0.1")  # it is stored as text
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.log_param(run_id, "lr", 0.2)
    assert "lr" in err.value.message
    assert err.value.field == "params"
    assert switchyard_client.get_run(run_id).data.params == {"lr": "0.1"}


def test_rejected_batch_writes_nothing(switchyard_client: sy.Client, run_id: str) -> None:
    switchyard_client.log_param(run_id, "lr", "0.1")
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.log_batch(
            run_id,
            metrics=[sy.Metric("acc", 0.9, 1_000, 3)],
            params={"new_param": "x", "lr": "0.5"},
            tags={"new_tag": "y"},
        )
    assert "lr" in err.value.message
    run = switchyard_client.get_run(run_id)
    assert run.data.params == {"lr": "0.1"}
    assert run.data.metrics == {}
    assert "new_tag" not in run.data.tags
    assert switchyard_client.get_metric_history(run_id, "acc") == []


def test_batch_with_clashing_duplicate_params(switchyard_client: sy.Client, run_id: str) -> None:
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.log_batch(
            run_id,
            params=[Param("p", "1"), Param("p", "2")],  # MLflow's Param objects work too
        )
    assert err.value.field == "params"
    assert switchyard_client.get_run(run_id).data.params == {}


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c, r, k: c.log_param(r, k, 1), "params.key"),
        (lambda c, r, k: c.log_metric(r, k, 1.0), "metrics.key"),
        (lambda c, r, k: c.set_tag(r, k, "v"), "tags.key"),
        (lambda c, r, k: c.log_batch(r, [sy.Metric(k, 1.0, 1, 0)]), "metrics.key"),
        (lambda c, r, k: c.log_batch(r, tags={k: "v"}), "tags.key"),
    ],
    ids=["param", "metric", "tag", "batch-metric", "batch-tag"],
)
@pytest.mark.parametrize(
    "bad_key",
    [
        "k" * 251,
        "bad key!",
        "semi;colon",
        "",
        "../escape",
        "/abs",
        "a/../b",
        "trailing\n",
        "tab\tkey",
    ],
)
def test_invalid_keys(
    switchyard_client: sy.Client, run_id: str, call, field: str, bad_key: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(sy.errors.InvalidArgument) as err:
        call(switchyard_client, run_id, bad_key)
    assert err.value.field == field
    data = switchyard_client.get_run(run_id).data
    assert data.params == {} and data.metrics == {}
    assert set(data.tags) == {"mlflow.runName"}


def test_key_limits_and_allowed_characters(switchyard_client: sy.Client, run_id: str) -> None:
    long_key = "k" * 250
    odd_key = "a-b_c.d e/f:g/ünï"  # letters are Unicode letters, as in MLflow
    switchyard_client.log_param(run_id, long_key, 1)
    switchyard_client.log_param(run_id, odd_key, 2)
    switchyard_client.log_metric(run_id, odd_key, 3.0)
    switchyard_client.log_param(run_id, "long_value", "v" * 6000)
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.log_param(run_id, "too_long_value", "v" * 6001)
    assert err.value.field is not None and err.value.field.startswith("params")
    data = switchyard_client.get_run(run_id).data
    assert data.params[long_key] == "1" and data.params[odd_key] == "2"
    assert data.metrics[odd_key] == 3.0
    assert "too_long_value" not in data.params


def test_text_postgres_cannot_store_is_invalid_not_internal(
    switchyard_client: sy.Client, run_id: str
) -> None:
    """A NUL would fail deep in the transaction; it is refused up front, naming its field."""
    c = switchyard_client
    calls = {
        "tags[t].value": lambda: c.set_tag(run_id, "t", "a\x00b"),
        "params[p].value": lambda: c.log_param(run_id, "p", "a\x00b"),
        "name": lambda: c.create_experiment("nul\x00name"),
    }
    for field, call in calls.items():
        with pytest.raises(sy.errors.InvalidArgument) as err:
            call()
        assert err.value.field == field and "NUL" in err.value.message
    data = c.get_run(run_id).data
    assert "t" not in data.tags and "p" not in data.params


@pytest.mark.parametrize("bad_id", [uuid4().hex, "not-a-run", "0" * 31, "g" * 32, str(uuid4())])
def test_unknown_or_malformed_run_id(switchyard_client: sy.Client, bad_id: str) -> None:
    for call in (
        lambda: switchyard_client.get_run(bad_id),
        lambda: switchyard_client.log_param(bad_id, "p", 1),
        lambda: switchyard_client.log_metric(bad_id, "m", 1.0),
        lambda: switchyard_client.set_tag(bad_id, "t", "v"),
        lambda: switchyard_client.delete_run(bad_id),
        lambda: switchyard_client.get_metric_history(bad_id, "m"),
        lambda: switchyard_client.log_inputs(bad_id, [sy.Dataset("d", "abc")]),
    ):
        with pytest.raises(sy.errors.NotFound) as err:
            call()
        assert err.value.entity == "run"


def test_empty_run_id(switchyard_client: sy.Client) -> None:
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.get_run("")
    assert err.value.field == "run_id"


def test_log_batch_with_metric_objects(switchyard_client: sy.Client, run_id: str) -> None:
    switchyard_client.log_batch(
        run_id,
        metrics=[
            sy.Metric("loss", 1.0, 1_000, 0),
            sy.Metric("loss", 0.5, 1_001, 1),
            sy.Metric("acc", 0.25, 1_000, 0),
            sy.Metric("loss", 0.25, 1_002, 2),
            sy.Metric("acc", 0.75, 1_005, 1),
        ],
        params={"opt": "adam"},
        tags={"phase": "train"},
    )
    data = switchyard_client.get_run(run_id).data
    assert data.metrics == {"loss": 0.25, "acc": 0.75}
    assert data.params == {"opt": "adam"}
    assert data.tags["phase"] == "train"
    assert switchyard_client.get_metric_history(run_id, "loss") == [
        sy.Metric("loss", 1.0, 1_000, 0),
        sy.Metric("loss", 0.5, 1_001, 1),
        sy.Metric("loss", 0.25, 1_002, 2),
    ]
    assert switchyard_client.get_metric_history(run_id, "acc") == [
        sy.Metric("acc", 0.25, 1_000, 0),
        sy.Metric("acc", 0.75, 1_005, 1),
    ]
    # an empty batch is fine
    switchyard_client.log_batch(run_id)


def test_log_inputs(switchyard_client: sy.Client, exp_id: str) -> None:
    run_id = switchyard_client.create_run(exp_id).info.run_id
    train = sy.Dataset("mnist", "d1g3st", source_type="http", source="https://x/mnist.npz")
    evals = sy.Dataset("mnist-eval", "e4a1", schema='{"cols": 3}', profile='{"rows": 10}')
    switchyard_client.log_inputs(
        run_id,
        [sy.DatasetInput(train, {"mlflow.data.context": "training"}), evals],
    )
    inputs = switchyard_client.get_run(run_id).inputs
    assert len(inputs) == 2
    by_name = {i.dataset.name: i for i in inputs}
    assert by_name["mnist"].dataset == train
    assert by_name["mnist"].tags == {"mlflow.data.context": "training"}
    assert by_name["mnist-eval"].dataset == evals
    assert by_name["mnist-eval"].tags == {}

    # logging the same dataset again updates, never duplicates
    switchyard_client.log_inputs(run_id, [sy.DatasetInput(train, {"mlflow.data.context": "eval"})])
    inputs = switchyard_client.get_run(run_id).inputs
    assert len(inputs) == 2
    assert {i.dataset.name: i.tags for i in inputs}["mnist"] == {"mlflow.data.context": "eval"}

    # a second run of the experiment shares the dataset
    other = switchyard_client.create_run(exp_id).info.run_id
    switchyard_client.log_inputs(other, [train])
    assert [i.dataset for i in switchyard_client.get_run(other).inputs] == [train]

    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.log_inputs(run_id, [sy.Dataset("no-digest", "")])
    assert err.value.field == "dataset_inputs"
    with pytest.raises(sy.errors.InvalidArgument):
        switchyard_client.log_inputs(run_id, [sy.Dataset("", "abc")])


def race(
    clients: list[sy.Client], run_id: str, params_of: Callable[[int], dict[str, str]]
) -> tuple[dict[int, dict[str, str]], list[BaseException]]:
    """Every client logs its params to one run at the same moment; who succeeded,
    and what failed other than InvalidArgument."""
    barrier = threading.Barrier(len(clients))
    won: dict[int, dict[str, str]] = {}
    failed: list[BaseException] = []

    def write(i: int) -> None:
        params = params_of(i)
        barrier.wait()
        try:
            clients[i].log_batch(run_id, params=params)
            won[i] = params
        except sy.errors.InvalidArgument:
            pass
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return won, failed


def test_concurrent_param_writers_cannot_both_win(
    switchyard_settings: Settings, exp_id: str
) -> None:
    # Regression: the clash check ran before the insert, so two writers of different
    # values could both pass it; the second insert was then dropped silently.
    clients = [sy.Client(settings=switchyard_settings) for _ in range(4)]
    try:
        for _ in range(8):
            run_id = clients[0].create_run(exp_id).info.run_id
            won, failed = race(
                clients, run_id, lambda i: {f"k{j}": f"writer-{i}" for j in range(20)}
            )
            assert failed == []
            assert len(won) == 1, f"writers {sorted(won)} all reported success"
            [params] = won.values()
            assert clients[0].get_run(run_id).data.params == params
    finally:
        for c in clients:
            c.close()


def test_concurrent_writers_of_equal_params_all_succeed(
    switchyard_settings: Settings, run_id: str
) -> None:
    clients = [sy.Client(settings=switchyard_settings) for _ in range(4)]
    params = {f"k{j:02d}": "same" for j in range(20)}
    try:
        # half of them name the keys in the opposite order
        won, failed = race(
            clients, run_id, lambda i: dict(reversed(params.items())) if i % 2 else params
        )
        assert failed == []
        assert sorted(won) == [0, 1, 2, 3]
        assert clients[0].get_run(run_id).data.params == params
    finally:
        for c in clients:
            c.close()


def test_deleted_run_cannot_be_updated(switchyard_client: sy.Client) -> None:
    run = switchyard_client.create_run(
        switchyard_client.create_experiment(f"upd-{uuid4().hex[:8]}")
    )
    switchyard_client.delete_run(run.info.run_id)
    with pytest.raises(sy.errors.FailedPrecondition):
        switchyard_client.update_run(run.info.run_id, status="FINISHED")
    assert switchyard_client.get_run(run.info.run_id).info.status == "RUNNING"


def test_run_name_tag_is_bounded_like_the_name(switchyard_client: sy.Client) -> None:
    run = switchyard_client.create_run(switchyard_client.create_experiment(f"nm-{uuid4().hex[:8]}"))
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.set_tag(run.info.run_id, "mlflow.runName", "x" * 501)
    assert err.value.field == "tags"
    assert switchyard_client.get_run(run.info.run_id).info.run_name == run.info.run_name
