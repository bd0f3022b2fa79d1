"""Metrics through `sy.Client`: latest values, full history, paging, downsampling."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import grpc
import pytest

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.proto.v1 import tracking_pb2_grpc
from switchyard.services.tracking.metric_ingest import SMALL_BATCH
from switchyard.testing.platform import LocalPlatform


@pytest.fixture(scope="module")
def exp_id(switchyard_platform: LocalPlatform, uniq: Callable[..., str]) -> str:
    with sy.Client(settings=switchyard_platform.client_settings()) as client:
        return client.create_experiment(uniq())


@pytest.fixture
def run_id(switchyard_client: sy.Client, exp_id: str) -> str:
    return switchyard_client.create_run(exp_id).info.run_id


def latest(client: sy.Client, run_id: str, key: str) -> float:
    return client.get_run(run_id).data.metrics[key]


def test_latest_is_highest_step_then_timestamp(switchyard_client: sy.Client, run_id: str) -> None:
    c = switchyard_client
    c.log_metric(run_id, "m", 1.0, timestamp=100, step=5)
    assert latest(c, run_id, "m") == 1.0
    c.log_metric(run_id, "m", 2.0, timestamp=999, step=3)  # newer, but a lower step
    assert latest(c, run_id, "m") == 1.0
    c.log_metric(run_id, "m", 3.0, timestamp=50, step=5)  # same step, older
    assert latest(c, run_id, "m") == 1.0
    c.log_metric(run_id, "m", 4.0, timestamp=101, step=5)  # same step, newer
    assert latest(c, run_id, "m") == 4.0
    c.log_metric(run_id, "m", 5.0, timestamp=1, step=6)  # higher step, oldest
    assert latest(c, run_id, "m") == 5.0
    # same step and timestamp: the larger value, as MLflow does
    c.log_metric(run_id, "m", 4.5, timestamp=1, step=6)
    assert latest(c, run_id, "m") == 5.0
    c.log_metric(run_id, "m", 7.0, timestamp=1, step=6)
    assert latest(c, run_id, "m") == 7.0


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        # (value, timestamp, step)
        ([(1.0, 10, 0), (2.0, 20, 1), (3.0, 30, 2)], 3.0),
        ([(1.0, 200, 5), (2.0, 100, 3), (3.0, 100, 5)], 1.0),  # max step twice, older last
        ([(1.0, 100, 5), (2.0, 100, 3), (3.0, 200, 5)], 3.0),
        ([(1.0, 100, 9), (2.0, 500, 3), (3.0, 900, 4)], 1.0),  # highest step first
        ([(1.0, 100, 2), (9.0, 100, 2)], 9.0),
        ([(9.0, 100, 2), (1.0, 100, 2)], 9.0),
        ([(5.0, 100, -3), (6.0, 50, -7)], 5.0),  # negative steps
    ],
)
def test_latest_within_one_batch(
    switchyard_client: sy.Client, run_id: str, points: list[tuple[float, int, int]], expected: float
) -> None:
    switchyard_client.log_batch(run_id, [sy.Metric("m", v, t, s) for v, t, s in points])
    assert latest(switchyard_client, run_id, "m") == expected
    # and the same when the points arrive one call at a time
    other = switchyard_client.create_run(switchyard_client.get_run(run_id).info.experiment_id)
    for v, t, s in points:
        switchyard_client.log_metric(other.info.run_id, "m", v, timestamp=t, step=s)
    assert latest(switchyard_client, other.info.run_id, "m") == expected


def test_latest_across_several_series_of_one_key(switchyard_client: sy.Client, run_id: str) -> None:
    # Two streamed messages in one batcher flush become two series of one key.
    switchyard_client.log_batch(
        run_id, [sy.Metric("m", 1.0, 500, 10), sy.Metric("n", 0.0, 1, 0), sy.Metric("m", 2.0, 1, 2)]
    )
    assert latest(switchyard_client, run_id, "m") == 1.0


def test_history_is_ordered_by_step_then_time(switchyard_client: sy.Client, run_id: str) -> None:
    logged = [
        sy.Metric("h", 3.0, 300, 2),
        sy.Metric("h", 1.0, 100, 0),
        sy.Metric("h", 2.5, 250, 1),
        sy.Metric("h", 2.0, 200, 1),
    ]
    for m in logged:
        switchyard_client.log_metric(run_id, m.key, m.value, timestamp=m.timestamp, step=m.step)
    switchyard_client.log_batch(run_id, [sy.Metric("h", 0.5, 50, 0), sy.Metric("h", 9.0, 900, 9)])
    history = switchyard_client.get_metric_history(run_id, "h")
    assert history == [
        sy.Metric("h", 0.5, 50, 0),
        sy.Metric("h", 1.0, 100, 0),
        sy.Metric("h", 2.0, 200, 1),
        sy.Metric("h", 2.5, 250, 1),
        sy.Metric("h", 3.0, 300, 2),
        sy.Metric("h", 9.0, 900, 9),
    ]
    # identical points are all kept
    switchyard_client.log_metric(run_id, "dup", 1.0, timestamp=5, step=1)
    switchyard_client.log_metric(run_id, "dup", 1.0, timestamp=5, step=1)
    assert len(switchyard_client.get_metric_history(run_id, "dup")) == 2


@pytest.mark.parametrize("per_key", [3, SMALL_BATCH])  # one statement; COPY
def test_batch_of_several_keys_keeps_each_history(
    switchyard_client: sy.Client, run_id: str, per_key: int
) -> None:
    # keys interleaved, steps out of order within a key: each key's history is its own points
    points = [
        sy.Metric(key, float(i * 10 + k), 1000 + i, (i * 7) % per_key)
        for i in range(per_key)
        for k, key in enumerate(("a", "b"))
    ]
    switchyard_client.log_batch(run_id, points)
    for key in ("a", "b"):
        mine = [p for p in points if p.key == key]
        history = switchyard_client.get_metric_history(run_id, key)
        assert history == sorted(mine, key=lambda p: (p.step, p.timestamp))
        top = max(mine, key=lambda p: (p.step, p.timestamp, p.value))
        assert latest(switchyard_client, run_id, key) == top.value


def test_defaults_step_zero_and_now(switchyard_client: sy.Client, run_id: str) -> None:
    before = int(time.time() * 1000)
    switchyard_client.log_metric(run_id, "d", 1.25)
    after = int(time.time() * 1000)
    [point] = switchyard_client.get_metric_history(run_id, "d")
    assert point.key == "d" and point.value == 1.25 and point.step == 0
    assert before - 5 <= point.timestamp <= after + 5


def test_history_of_missing_key_is_empty(switchyard_client: sy.Client, run_id: str) -> None:
    assert switchyard_client.get_metric_history(run_id, "never-logged") == []
    assert switchyard_client.get_metric_history(run_id, "never-logged", max_points=10) == []
    with pytest.raises(sy.errors.InvalidArgument):
        switchyard_client.get_metric_history(run_id, "bad key!")


def test_nan_and_infinities_round_trip(switchyard_client: sy.Client, run_id: str) -> None:
    c = switchyard_client
    c.log_metric(run_id, "x", math.nan, timestamp=1, step=0)
    c.log_metric(run_id, "x", math.inf, timestamp=2, step=1)
    c.log_metric(run_id, "x", -math.inf, timestamp=3, step=2)
    c.log_batch(run_id, [sy.Metric("y", math.nan, 4, 0)])
    history = c.get_metric_history(run_id, "x")
    assert [m.step for m in history] == [0, 1, 2]
    assert math.isnan(history[0].value)
    assert history[1].value == math.inf
    assert history[2].value == -math.inf
    metrics = c.get_run(run_id).data.metrics
    assert metrics["x"] == -math.inf
    assert math.isnan(metrics["y"])
    # NaN latest replaced by a later step, and the reverse
    c.log_metric(run_id, "y", 2.0, timestamp=5, step=1)
    assert c.get_run(run_id).data.metrics["y"] == 2.0
    c.log_metric(run_id, "y", math.nan, timestamp=6, step=2)
    assert math.isnan(c.get_run(run_id).data.metrics["y"])
    # NaN in the background path too
    c.log_metric(run_id, "z", math.nan, step=0, synchronous=False)
    c.log_metric(run_id, "z", math.inf, step=1, synchronous=False)
    c.flush()
    z = c.get_metric_history(run_id, "z")
    assert math.isnan(z[0].value) and z[1].value == math.inf


def test_quarter_million_points_in_the_background(
    switchyard_client: sy.Client, run_id: str
) -> None:
    n = 250_000
    c = switchyard_client
    # step i // 3 repeats each step three times, so page boundaries (every 100,000
    # points) fall inside a run of equal steps; the timestamps decrease within a
    # step, so ordering by (step, timestamp) differs from arrival order.
    for i in range(n):
        c.log_metric(
            run_id, "loss", float(i), timestamp=10_000_000 - i, step=i // 3, synchronous=False
        )
    c.flush()
    history = c.get_metric_history(run_id, "loss")
    assert len(history) == n
    steps = [m.step for m in history]
    assert steps == sorted(steps)
    assert steps[0] == 0 and steps[-1] == (n - 1) // 3
    # within each step, by timestamp (here: the reverse of arrival)
    expected = [float(3 * s + (2 - j)) for s in range(n // 3) for j in range(3)]
    expected += sorted((float(i) for i in range(3 * (n // 3), n)), reverse=True)
    assert [m.value for m in history] == expected
    assert all(m.key == "loss" for m in history[:: n // 50])
    assert c.get_run(run_id).data.metrics["loss"] == float(n - 1)  # highest step, newest

    # The service pages at 100,000 points; walk the raw pages and check the seams.
    from switchyard.testing.auth import authorized_channel

    with authorized_channel(c.address, c.settings) as channel:
        stub = tracking_pb2_grpc.TrackingServiceStub(channel)
        sizes, token, values = [], "", []
        while True:
            reply = stub.GetMetricHistory(
                pb.GetMetricHistoryRequest(run_id=run_id, key="loss", page_token=token)
            )
            sizes.append(len(reply.history.values))
            values.extend(reply.history.values)
            token = reply.next_page_token
            if not token:
                break
        assert sizes == [100_000, 100_000, 50_000]
        assert values == expected
        # a small explicit page size, resumed from the middle of a step
        reply = stub.GetMetricHistory(
            pb.GetMetricHistoryRequest(run_id=run_id, key="loss", page_size=4)
        )
        assert list(reply.history.steps) == [0, 0, 0, 1]
        reply = stub.GetMetricHistory(
            pb.GetMetricHistoryRequest(
                run_id=run_id, key="loss", page_size=4, page_token=reply.next_page_token
            )
        )
        assert list(reply.history.steps) == [1, 1, 2, 2]
        assert list(reply.history.values) == expected[4:8]
        with pytest.raises(grpc.RpcError) as err:
            stub.GetMetricHistory(
                pb.GetMetricHistoryRequest(run_id=run_id, key="loss", page_token="%%garbage%%")
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    # downsampled for a chart
    for max_points in (10, 1000):
        chart = c.get_metric_history(run_id, "loss", max_points=max_points)
        assert 0 < len(chart) <= max_points
        values = [m.value for m in chart]
        assert min(values) == 0.0 and max(values) == float(n - 1)
        assert chart[0].step == 0 and chart[-1].step == (n - 1) // 3
        assert [m.step for m in chart] == sorted(m.step for m in chart)


def test_downsampling_keeps_spikes(switchyard_client: sy.Client, run_id: str) -> None:
    n = 10_000
    values = [math.sin(i / 100) for i in range(n)]
    values[1234] = 50.0
    values[8765] = -50.0
    switchyard_client.log_batch(
        run_id, [sy.Metric("s", v, 1_000 + i, i) for i, v in enumerate(values)]
    )
    full = switchyard_client.get_metric_history(run_id, "s")
    assert [m.value for m in full] == values
    chart = switchyard_client.get_metric_history(run_id, "s", max_points=100)
    assert len(chart) <= 100
    by_step = {m.step: m.value for m in chart}
    assert by_step[1234] == 50.0 and by_step[8765] == -50.0
    assert by_step[0] == values[0] and by_step[n - 1] == values[n - 1]
    assert set(chart) <= set(full)
    # max_points above the point count returns everything
    assert switchyard_client.get_metric_history(run_id, "s", max_points=n) == full
    with pytest.raises(sy.errors.InvalidArgument):
        switchyard_client.get_metric_history(run_id, "s", max_points=-1)


def test_many_keys_in_the_background(switchyard_client: sy.Client, run_id: str) -> None:
    c = switchyard_client
    for step in range(200):
        for k in range(25):
            c.log_metric(run_id, f"k{k}", step * 100 + k, step=step, synchronous=False)
    c.flush()
    metrics = c.get_run(run_id).data.metrics
    assert metrics == {f"k{k}": float(199 * 100 + k) for k in range(25)}
    for k in (0, 24):
        assert [m.value for m in c.get_metric_history(run_id, f"k{k}")] == [
            float(s * 100 + k) for s in range(200)
        ]


def test_background_error_is_raised_not_swallowed(
    switchyard_client: sy.Client, run_id: str
) -> None:
    c = switchyard_client
    c.log_metric(run_id, "bad key!", 1.0, synchronous=False)
    with pytest.raises(sy.errors.InvalidArgument) as err:
        c.flush()
    assert err.value.field == "metrics.key"
    # once raised, the client works again
    c.log_metric(run_id, "good", 1.0, synchronous=False)
    c.flush()
    assert c.get_run(run_id).data.metrics["good"] == 1.0


def test_background_logging_to_deleted_run_fails(switchyard_client: sy.Client, run_id: str) -> None:
    switchyard_client.delete_run(run_id)
    switchyard_client.log_metric(run_id, "m", 1.0, synchronous=False)
    with pytest.raises(sy.errors.FailedPrecondition):
        switchyard_client.flush()


def _within(seconds: float, fn: Callable[[], object]) -> list[BaseException]:
    """Run `fn` in a thread; fail the test if it has not returned in `seconds`."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{fn} did not return within {seconds} s"
    return errors


@pytest.mark.parametrize("pause", [0.0, 0.25, 0.3])
def test_flush_after_background_failure_returns(
    switchyard_settings: Settings, run_id: str, pause: float
) -> None:
    # Regression: a failed stream left gRPC's thread waiting on the batcher's queue;
    # a flush in that window lost its marker to it and waited forever.
    client = sy.Client(settings=switchyard_settings)
    try:
        client.log_metric(run_id, "bad key!", 1.0, synchronous=False)
        time.sleep(pause)  # the background sender ships it within 0.2 s and fails
        errors = _within(10, client.flush)
        assert len(errors) == 1 and isinstance(errors[0], sy.errors.InvalidArgument), errors
        # later points still arrive, and a clean flush raises nothing
        client.log_metric(run_id, "after", 2.0, synchronous=False)
        time.sleep(pause)
        assert _within(10, client.flush) == []
        assert client.get_run(run_id).data.metrics["after"] == 2.0
    finally:
        _within(10, client.close)


def test_a_window_of_steps_is_downsampled_on_its_own(
    switchyard_client: sy.Client, run_id: str
) -> None:
    """A zoomed chart asks for its window: finer points there, none outside."""
    n = 20_000
    switchyard_client.log_batch(run_id, [sy.Metric("w", float(i % 97), 0, i) for i in range(n)])
    whole = switchyard_client.get_metric_history(run_id, "w", max_points=1000)
    zoomed = switchyard_client.get_metric_history(
        run_id, "w", max_points=1000, min_step=5_000, max_step=5_499
    )
    assert [m.step for m in zoomed] == list(range(5_000, 5_500))  # every point: 500 fit
    assert sum(5_000 <= m.step < 5_500 for m in whole) < 100  # the whole chart had few there
    tail = switchyard_client.get_metric_history(run_id, "w", min_step=n - 3)
    assert [m.step for m in tail] == [n - 3, n - 2, n - 1]
    assert switchyard_client.get_metric_history(run_id, "w", max_step=-1) == []
    with pytest.raises(sy.errors.InvalidArgument, match="min_step"):
        switchyard_client.get_metric_history(run_id, "w", min_step=10, max_step=9)


def test_a_closed_client_keeps_no_background_thread(
    switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    def writers() -> int:
        return sum(t.name.startswith("sy-metrics") for t in threading.enumerate())

    before = writers()
    client = sy.Client(settings=switchyard_settings)
    run_id = client.create_run(client.create_experiment(uniq())).info.run_id
    client.log_metric(run_id, "m", 1.0, synchronous=False)
    assert writers() == before + 2  # the sender and the linger ticker
    client.close()  # sends the point, then ends both
    assert writers() == before
    with sy.Client(settings=switchyard_settings) as again:
        assert again.get_run(run_id).data.metrics == {"m": 1.0}
