"""Pipelined fluent runs (`synchronous=False`): the whole life of a run on one stream.

What a user relies on: `start_run` returns at once with an id made here,
everything lands in order once `sy.flush()` returns, a refused write is
raised (never dropped) and changes nothing, and the writes around it land.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk import fluent
from switchyard.sdk.rpcs import tracking as rpc

pytestmark = pytest.mark.usefixtures("switchyard_fluent")


def test_a_pipelined_run_lands_whole(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    exp = sy.set_experiment(uniq())
    with sy.start_run(run_name="fast", tags={"team": "ml"}, synchronous=False) as run:
        run_id = run.run_id
        assert uuid.UUID(hex=run_id).version == 7  # made by the client, time-ordered
        sy.log_params({"lr": 0.01, "depth": 6}, synchronous=False)
        sy.set_tag("stage", "dev", synchronous=False)
        for step in range(3):
            sy.log_metrics({"loss": 1.0 / (step + 1), "acc": step / 3}, step=step)
    sy.flush()  # acknowledged: stored, visible to anyone
    got = switchyard_client.get_run(run_id)
    assert got.info.status == "FINISHED" and got.info.end_time is not None
    assert got.info.experiment_id == exp.experiment_id and got.info.run_name == "fast"
    assert got.info.artifact_uri.endswith(f"/{run_id}/artifacts")
    assert got.data.params == {"lr": "0.01", "depth": "6"}
    assert got.data.tags["team"] == "ml" and got.data.tags["stage"] == "dev"
    assert got.data.metrics == {"loss": 1.0 / 3, "acc": 2 / 3}
    history = switchyard_client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2]
    assert run.info.run_id == run_id  # read from the platform once stored


def test_many_runs_nested_and_in_order(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    sy.set_experiment(uniq())
    ids = []
    with sy.start_run(synchronous=False) as parent:
        for i in range(40):
            with sy.start_run(nested=True, synchronous=False) as child:
                sy.log_param("i", i, synchronous=False)
                sy.log_metric("x", float(i))
                ids.append(child.run_id)
    sy.flush()
    found = switchyard_client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.run_id}'", max_results=100
    )
    assert sorted(r.info.run_id for r in found) == sorted(ids)
    for r in found:
        assert r.info.status == "FINISHED" and r.data.metrics["x"] == float(r.data.params["i"])
    assert switchyard_client.get_run(parent.run_id).info.status == "FINISHED"


def test_a_refused_write_is_raised_changes_nothing_and_the_rest_land(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    sy.set_experiment(uniq())
    with sy.start_run(synchronous=False) as first:
        sy.log_param("lr", 0.1, synchronous=False)
        sy.log_params({"lr": 0.2, "other": 1}, synchronous=False)  # params are immutable
        sy.log_metric("after", 1.0)
    with sy.start_run(synchronous=False) as second:
        sy.log_param("lr", 0.3, synchronous=False)
    with pytest.raises(sy.errors.InvalidArgument) as err:
        sy.flush()
    assert "lr" in err.value.message and err.value.field == "params"
    sy.flush()  # raised once
    got = switchyard_client.get_run(first.run_id)
    assert got.data.params == {"lr": "0.1"}  # the refused batch wrote nothing
    assert got.data.metrics == {"after": 1.0} and got.info.status == "FINISHED"
    assert switchyard_client.get_run(second.run_id).data.params == {"lr": "0.3"}


def test_end_run_raises_a_refusal_already_reported(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    sy.set_experiment(uniq())
    run = sy.start_run(synchronous=False)
    sy.log_param("k", "a", synchronous=False)
    sy.log_param("k", "b", synchronous=False)
    deadline = time.monotonic() + 10
    with pytest.raises(sy.errors.InvalidArgument):
        while time.monotonic() < deadline:  # acknowledged as it commits, within ms
            sy.set_tag("waiting", "yes", synchronous=False)
            time.sleep(0.02)
    sy.end_run()
    with sy.start_run(synchronous=False):
        sy.log_param("k", "c", synchronous=False)
        sy.log_param("k", "d", synchronous=False)
        time.sleep(0.5)
        with pytest.raises(sy.errors.InvalidArgument):
            sy.end_run(synchronous=False)
    assert sy.active_run() is None
    sy.end_run()  # nothing active
    sy.flush()
    got = switchyard_client.get_run(run.run_id)
    assert got.data.params == {"k": "a"} and got.info.status == "FINISHED"


def test_an_unknown_experiment_refuses_the_run_and_its_writes(
    switchyard_client: sy.Client,
) -> None:
    with sy.start_run(experiment_id="987654321", synchronous=False) as run:
        sy.log_param("p", 1, synchronous=False)
    with pytest.raises(sy.errors.NotFound) as err:
        sy.flush()
    assert (
        "987654321" in err.value.message and "2 more write(s) refused after it" in err.value.message
    )
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.get_run(run.run_id)


def test_synchronous_writes_wait_for_the_pipelined_creation(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    sy.set_experiment(uniq())
    with sy.start_run(synchronous=False) as run:
        assert sy.log_param("now", 1, synchronous=True) == 1  # the run exists by then
        assert switchyard_client.get_run(run.run_id).data.params == {"now": "1"}
        sy.log_text("hello", "notes.txt")
        assert run.data.params == {"now": "1"}
    sy.flush()
    assert [f.path for f in switchyard_client.list_artifacts(run.run_id)] == ["notes.txt"]


def test_async_logging_setting_makes_pipelining_the_default(
    switchyard_settings: Settings, switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    fluent.reset(switchyard_settings.model_copy(update={"async_logging": True}))
    sy.set_experiment(uniq())
    with sy.start_run() as run:
        assert run.pipelined
        sy.log_params({"a": 1})
    with sy.start_run(synchronous=True) as plain:
        assert not plain.pipelined
    sy.flush()
    assert switchyard_client.get_run(run.run_id).data.params == {"a": "1"}


def _write_runs(client: sy.Client, writes: list[pb.RunWrite]) -> list[pb.WriteRunsResponse]:
    return list(client.transport.exchange(rpc.WRITE_RUNS, iter(writes)))


def test_write_runs_applies_in_order_and_names_each_refusal(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    exp_id = switchyard_client.create_experiment(uniq())
    taken = switchyard_client.create_run(exp_id, run_name="taken").info.run_id
    ids = [uuid.uuid4().hex for _ in range(100)]
    writes = []
    for i, run_id in enumerate(ids):
        writes.append(
            pb.RunWrite(create_run=pb.CreateRunRequest(experiment_id=exp_id, run_id=run_id))
        )
        value = "bad key!" if i == 50 else "k"
        series = pb.MetricSeries(key=value, values=[i], steps=[0], timestamps=[1])
        writes.append(pb.RunWrite(log_batch=pb.LogBatchRequest(run_id=run_id, metrics=[series])))
        writes.append(
            pb.RunWrite(
                update_run=pb.UpdateRunRequest(run_id=run_id, status=pb.RUN_STATUS_FINISHED)
            )
        )
    writes.insert(
        10, pb.RunWrite(create_run=pb.CreateRunRequest(experiment_id=exp_id, run_id=taken))
    )
    writes.append(pb.RunWrite())  # no write at all
    replies = _write_runs(switchyard_client, writes)
    assert replies[-1].through == len(writes)
    assert sum(r.metrics_written for r in replies) == 99
    errors = [e for r in replies for e in r.errors]
    assert [(e.index, e.code) for e in errors] == [
        (10, "ALREADY_EXISTS"),
        (152, "INVALID_ARGUMENT"),
        (len(writes) - 1, "INVALID_ARGUMENT"),
    ]
    assert errors[1].run_id == ids[50] and errors[1].field == "metrics.key"
    assert switchyard_client.get_run(taken).info.run_name == "taken"  # untouched
    runs = switchyard_client.search_runs([exp_id], "", max_results=200)
    assert len(runs) == 101
    assert all(r.info.status == "FINISHED" for r in runs if r.info.run_id != taken)
    assert switchyard_client.get_run(ids[50]).data.metrics == {}


def test_write_runs_refuses_bad_ids_and_params_by_field(switchyard_client: sy.Client) -> None:
    writes = [
        pb.RunWrite(create_run=pb.CreateRunRequest(run_id="not-hex")),
        pb.RunWrite(log_batch=pb.LogBatchRequest(run_id="nope")),
        pb.RunWrite(
            log_batch=pb.LogBatchRequest(
                run_id=uuid.uuid4().hex, params=[cpb.Tag(key="", value="x")]
            )
        ),
    ]
    errors = [e for r in _write_runs(switchyard_client, writes) for e in r.errors]
    assert [(e.index, e.code) for e in errors] == [
        (0, "INVALID_ARGUMENT"),  # a new run's id: bad input
        (1, "NOT_FOUND"),  # a lookup, as LogBatch answers it
        (2, "INVALID_ARGUMENT"),
    ]
    assert errors[0].field == "run_id" and errors[1].field == "run_id"
    assert errors[2].field.startswith("params")


def test_pipelined_runs_publish_each_event_once_in_run_order(
    switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    stream = sy.events("sy.tracking.>", timeout=10, settings=switchyard_settings)
    sy.set_experiment(uniq())
    ids = []
    for i in range(30):  # together: one group, written kind by kind
        with sy.start_run(synchronous=False) as run:
            sy.log_params({"i": i}, synchronous=False)
            sy.set_tags({"pipelined": "yes"}, synchronous=False)
            sy.log_metrics({"x": float(i)}, step=i)
            ids.append(run.run_id)
    sy.flush()
    seen: dict[str, list[str]] = {r: [] for r in ids}
    finished = 0
    for event in stream:
        if event.subject in seen:
            seen[event.subject].append(event.type)
            if event.type == "sy.tracking.run.finished":
                finished += 1
                info = event.data.info
                assert info.status == pb.RUN_STATUS_FINISHED and info.end_time > 0
            if event.type == "sy.tracking.params.logged":
                assert dict(event.data.params) == {"i": str(ids.index(event.subject))}
        if finished == len(ids):
            break
    kinds = ["run.created", "params.logged", "tags.set", "metrics.logged", "run.finished"]
    assert all(types == [f"sy.tracking.{k}" for k in kinds] for types in seen.values()), seen


def test_a_group_that_renames_a_run_is_applied_write_by_write(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    sy.set_experiment(uniq())
    with sy.start_run(run_name="before", synchronous=False) as run:
        sy.set_tags({"mlflow.runName": "after"}, synchronous=False)
        sy.log_param("p", 1, synchronous=False)
        sy.log_param("p", 1, synchronous=False)  # the same value again is allowed
    sy.flush()
    got = switchyard_client.get_run(run.run_id)
    assert got.info.run_name == "after" and got.data.params == {"p": "1"}
    assert got.info.status == "FINISHED"
