"""Pure tests of metric history paging and downsampling (no database)."""

from __future__ import annotations

import base64
import math

import numpy as np
import pytest

from switchyard.errors import InvalidArgument
from switchyard.services.tracking.metric_history import History, downsample, page


def make_history(chunks: list[tuple[list[int], list[int], list[float]]]) -> History:
    """A History as `MetricStore.history` builds it: chunk i has id i + 1, sorted by
    step, then timestamp, then arrival (chunk, index)."""
    steps = np.concatenate([np.asarray(c[0], dtype=np.int64) for c in chunks])
    stamps = np.concatenate([np.asarray(c[1], dtype=np.int64) for c in chunks])
    values = np.concatenate([np.asarray(c[2], dtype=np.float64) for c in chunks])
    chunk = np.repeat(np.arange(1, len(chunks) + 1, dtype=np.int64), [len(c[0]) for c in chunks])
    index = np.concatenate([np.arange(len(c[0]), dtype=np.int64) for c in chunks])
    order = np.lexsort((index, chunk, stamps, steps))
    return History(steps[order], stamps[order], values[order], chunk[order], index[order])


def simple(values: list[float] | np.ndarray, steps: list[int] | None = None) -> History:
    values = list(map(float, values))
    steps = list(range(len(values))) if steps is None else steps
    return make_history([(steps, [1_000 + s for s in steps], values)])


def points(series) -> list[tuple[int, int, float]]:  # type: ignore[no-untyped-def]
    return list(zip(series.steps, series.timestamps, series.values, strict=True))


def all_points(h: History) -> list[tuple[int, int, float]]:
    return list(zip(h.steps.tolist(), h.timestamps.tolist(), h.values.tolist(), strict=True))


# -- downsample ------------------------------------------------------------------


def test_short_history_is_returned_whole() -> None:
    h = simple([3.0, 1.0, 2.0])
    s = downsample(h, "loss", 3)
    assert s.key == "loss"
    assert points(s) == all_points(h)
    assert points(downsample(h, "loss", 1000)) == all_points(h)


def test_empty_history() -> None:
    h = make_history([([], [], [])])
    s = downsample(h, "k", 10)
    assert list(s.values) == [] and list(s.steps) == []


@pytest.mark.parametrize("max_points", [1, 2, 3, 4, 5, 7, 10, 11, 64, 100, 999, 1000])
def test_downsample_bounds_keeps_extremes_and_endpoints(max_points: int) -> None:
    rng = np.random.default_rng(max_points)
    n = 20_000
    values = rng.normal(size=n).cumsum()
    h = simple(values)
    s = downsample(h, "m", max_points)
    got = points(s)

    assert 1 <= len(got) <= max_points
    # a subset of the original points, still ordered by step
    original = set(all_points(h))
    assert all(p in original for p in got)
    assert list(s.steps) == sorted(s.steps)
    assert len(set(s.steps)) == len(s.steps)
    # endpoints (from two points up) and extremes (from four up; fewer cannot hold them)
    if max_points >= 2:
        assert s.steps[0] == 0 and s.steps[-1] == n - 1
    if max_points >= 4:
        assert min(s.values) == values.min()
        assert max(s.values) == values.max()


def test_spikes_survive_downsampling() -> None:
    n = 100_000
    values = np.sin(np.arange(n) / 500.0)
    values[12_345] = 1e6  # one-point spike up
    values[87_654] = -1e6  # one-point spike down
    values[50_000] = 42.0
    s = downsample(simple(values), "m", 50)
    assert len(s.values) <= 50
    kept = dict(zip(s.steps, s.values, strict=True))
    assert kept[12_345] == 1e6
    assert kept[87_654] == -1e6
    assert kept[50_000] == 42.0  # the second highest point is its bucket's maximum
    assert kept[0] == values[0] and kept[n - 1] == values[n - 1]


def test_downsample_with_sparse_and_repeated_steps() -> None:
    # A gap in steps and many points sharing one step (e.g. logged without a step).
    steps = [0] * 500 + list(range(1, 501)) + [10_000_000] * 3
    values = [float(i % 17) for i in range(len(steps))]
    values[250] = -5.0
    values[-2] = 99.0
    h = make_history([(steps, [7] * len(steps), values)])
    s = downsample(h, "m", 20)
    assert len(s.values) <= 20
    assert min(s.values) == -5.0 and max(s.values) == 99.0
    assert s.steps[0] == 0 and s.steps[-1] == 10_000_000
    assert list(s.steps) == sorted(s.steps)


def test_downsample_all_points_on_one_step() -> None:
    h = make_history([([3] * 1000, list(range(1000)), [float(i) for i in range(1000)])])
    s = downsample(h, "m", 10)
    assert len(s.values) <= 10
    assert 0.0 in s.values and 999.0 in s.values
    # first and last in (step, timestamp) order
    assert s.timestamps[0] == 0 and s.timestamps[-1] == 999


def test_downsample_keeps_nan_and_infinities() -> None:
    values = [0.5] * 1000
    values[100] = math.inf
    values[200] = -math.inf
    values[101] = math.nan  # NaN next to the spike must not hide it
    values[300] = math.nan
    s = downsample(simple(values), "m", 10)
    assert len(s.values) <= 10
    assert math.inf in s.values and -math.inf in s.values
    # a bucket of NaN only still shows up
    only_nan = [math.nan] * 500 + [1.0] * 500
    s = downsample(simple(only_nan), "m", 6)
    assert len(s.values) <= 6
    assert any(math.isnan(v) for v in s.values) and 1.0 in s.values


# -- page ------------------------------------------------------------------------


def walk(h: History, size: int) -> tuple[list[tuple[int, int, float]], int]:
    out: list[tuple[int, int, float]] = []
    token, pages = "", 0
    while True:
        s, token = page(h, "m", size, token)
        pages += 1
        assert len(s.values) <= size
        out.extend(points(s))
        if not token:
            return out, pages
        assert pages < 10_000


def test_page_walks_everything_once_in_order() -> None:
    h = simple([float(i) for i in range(1000)])
    got, pages = walk(h, 64)
    assert got == all_points(h)
    assert pages == math.ceil(1000 / 64)


def test_page_exact_multiple_ends_without_token() -> None:
    h = simple([float(i) for i in range(100)])
    s, token = page(h, "m", 100, "")
    assert len(s.values) == 100 and token == ""
    s, token = page(h, "m", 50, "")
    assert token
    s2, token2 = page(h, "m", 50, token)
    assert list(s2.steps) == list(range(50, 100)) and token2 == ""


def test_page_on_empty_history() -> None:
    s, token = page(make_history([([], [], [])]), "m", 10, "")
    assert list(s.values) == [] and token == ""


def test_page_resumes_inside_runs_of_duplicate_steps() -> None:
    # Three chunks; every step appears several times, with equal timestamps too,
    # so only (chunk, index) tells the points apart. Values identify each point.
    chunks = []
    ident = 0
    for c in range(3):
        steps = [i // 4 for i in range(40)]
        stamps = [5] * 40 if c < 2 else [4] * 40  # the last chunk sorts first within a step
        vals = []
        for _ in steps:
            vals.append(float(ident))
            ident += 1
        chunks.append((steps, stamps, vals))
    h = make_history(chunks)
    for size in (1, 3, 7, 11, 119, 120, 121):
        got, _ = walk(h, size)
        assert got == all_points(h), size
        assert sorted(v for _, _, v in got) == [float(i) for i in range(120)]
    steps = [s for s, _, _ in all_points(h)]
    assert steps == sorted(steps)


def test_page_token_after_last_point_gives_empty_page() -> None:
    h = simple([1.0, 2.0, 3.0])
    _, token = page(h, "m", 2, "")
    # the history shrank (e.g. a different run): resuming past the end is empty
    shorter = simple([1.0, 2.0])
    s, token2 = page(shorter, "m", 2, token)
    assert list(s.values) == [] and token2 == ""


def test_page_resumes_after_position_when_points_arrive() -> None:
    h = simple([float(i) for i in range(10)])
    first, token = page(h, "m", 5, "")
    # a later chunk adds points at earlier and later steps
    grown = make_history(
        [
            (list(range(10)), [1_000 + s for s in range(10)], [float(i) for i in range(10)]),
            ([2, 20], [1_002, 1_020], [100.0, 200.0]),
        ]
    )
    rest, token = page(grown, "m", 100, token)
    assert token == ""
    assert list(rest.steps) == [5, 6, 7, 8, 9, 20]
    assert list(first.steps) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "token",
    [
        "garbage!!",
        "abc",
        "é",
        base64.urlsafe_b64encode(b"x" * 31).decode(),
        base64.urlsafe_b64encode(b"x" * 33).decode(),
        "=" * 8,
    ],
)
def test_garbled_token_is_invalid_argument(token: str) -> None:
    h = simple([1.0, 2.0, 3.0])
    with pytest.raises(InvalidArgument) as err:
        page(h, "m", 2, token)
    assert err.value.field == "page_token"


def test_a_token_pages_only_its_own_metric() -> None:
    h = simple([1.0, 2.0, 3.0])
    _, token = page(h, "loss", 2, "")
    assert page(h, "loss", 2, token)[0].values == [3.0]
    with pytest.raises(InvalidArgument) as err:
        page(h, "acc", 2, token)
    assert err.value.field == "page_token"
