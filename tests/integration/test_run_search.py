"""`Client.search_runs` with MLflow's filter and order_by grammar, and paging."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pytest

import switchyard as sy
from switchyard.testing.platform import LocalPlatform

NAN = math.nan


@dataclass
class Spec:
    name: str
    status: str = "RUNNING"
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    datasets: list[sy.DatasetInput] = field(default_factory=list)
    deleted: bool = False


MNIST = sy.DatasetInput(sy.Dataset("mnist", "d-mnist"), {"mlflow.data.context": "training"})
IMDB = sy.DatasetInput(sy.Dataset("imdb", "d-imdb"), {"mlflow.data.context": "eval"})

SPECS = [
    Spec(
        "alpha-1",
        "FINISHED",
        {"acc": 0.9, "loss": 0.1, "val loss": 0.2},
        {"lr": "0.01", "model": "cnn"},
        {"team": "vision", "my tag": "x y", "a.b": "dot"},
        [MNIST],
    ),
    Spec(
        "alpha-2",
        "RUNNING",
        {"acc": 0.7, "val loss": 0.8},
        {"lr": "0.1", "model": "rnn"},
        {"team": "Vision-Core"},
    ),
    Spec("beta-1", "FAILED", {"acc": 0.8}, {"lr": "0.01", "model": "cnn"}, {"team": "nlp"}, [IMDB]),
    Spec("beta-2", "FINISHED", {"loss": 0.3}, {"lr": "0.5"}),
    Spec("gamma", "KILLED", {"acc": NAN}, {"lr": "0.1"}, {"team": "vision"}),
    Spec("epsilon", "RUNNING", {}, {}, {"team": "vision"}),
    Spec("zeta", "FINISHED", {"acc": 0.99}, {"lr": "0.01"}, {"team": "vision"}, deleted=True),
]


@dataclass
class World:
    client: sy.Client
    exp_id: str
    ids: dict[str, str]  # run name -> run id
    base: int

    def search(self, filter_string: str = "", **kwargs: object) -> list[str]:
        """Run names found, in order (one page: the set here is small)."""
        found = self.client.search_runs([self.exp_id], filter_string, **kwargs)  # type: ignore[arg-type]
        assert found.token == ""
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[r.info.run_id] for r in found]

    def names(self, filter_string: str) -> set[str]:
        return set(self.search(filter_string))


@pytest.fixture(scope="module")
def world(switchyard_platform: LocalPlatform, uniq: Callable[..., str]) -> Iterator[World]:
    with sy.Client(settings=switchyard_platform.client_settings()) as client:
        exp_id = client.create_experiment(uniq())
        base = int(time.time() * 1000) - 1_000_000
        ids = {}
        for i, spec in enumerate(SPECS):
            run = client.create_run(exp_id, start_time=base + i * 1000, run_name=spec.name)
            rid = run.info.run_id
            ids[spec.name] = rid
            client.log_batch(
                rid,
                [sy.Metric(k, v, base, 0) for k, v in spec.metrics.items()],
                spec.params,
                spec.tags,
            )
            if spec.datasets:
                client.log_inputs(rid, spec.datasets)
            if spec.status != "RUNNING":
                client.set_terminated(rid, spec.status)
            if spec.deleted:
                client.delete_run(rid)
        yield World(client, exp_id, ids, base)


ACTIVE = {s.name for s in SPECS if not s.deleted}


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("", ACTIVE),
        ("   ", ACTIVE),
        ("metrics.acc > 0.75", {"alpha-1", "beta-1"}),
        ("metrics.acc >= 0.7 AND metrics.acc < 0.85", {"alpha-2", "beta-1"}),
        ("metrics.acc <= 0.8", {"alpha-2", "beta-1"}),
        ("metrics.acc = 0.9", {"alpha-1"}),
        ("metrics.acc != 0.9", {"alpha-2", "beta-1", "gamma"}),
        ("metrics.acc > -1e9", {"alpha-1", "alpha-2", "beta-1"}),
        ("metric.loss < 1", {"alpha-1", "beta-2"}),
        ("metrics.`val loss` < 0.5", {"alpha-1"}),
        ('metrics."val loss" >= 0.5', {"alpha-2"}),
        ("params.lr = '0.01'", {"alpha-1", "beta-1"}),
        ('params.lr = "0.01"', {"alpha-1", "beta-1"}),
        ("params.model != 'cnn'", {"alpha-2"}),
        ("params.lr IN ('0.1', '0.5')", {"alpha-2", "beta-2", "gamma"}),
        ("params.lr NOT IN ('0.1', '0.5')", {"alpha-1", "beta-1"}),
        ("params.model IS NOT NULL", {"alpha-1", "alpha-2", "beta-1"}),
        ("param.model LIKE '%nn'", {"alpha-1", "alpha-2", "beta-1"}),
        ("tags.team = 'vision'", {"alpha-1", "gamma", "epsilon"}),
        ("tags.team LIKE 'vis%'", {"alpha-1", "gamma", "epsilon"}),
        ("tags.team ILIKE 'vis%'", {"alpha-1", "alpha-2", "gamma", "epsilon"}),
        ("tags.team LIKE '%-%'", {"alpha-2"}),
        ("tags.team IS NULL", {"beta-2"}),
        ("tags.`my tag` = 'x y'", {"alpha-1"}),
        ("tags.`a.b` = 'dot'", {"alpha-1"}),
        ("tags.a.b = 'dot'", {"alpha-1"}),
        ("tags.mlflow.runName = 'gamma'", {"gamma"}),
        ("attributes.status = 'FAILED'", {"beta-1"}),
        ("status = 'FINISHED'", {"alpha-1", "beta-2"}),
        ("attributes.status != 'RUNNING'", {"alpha-1", "beta-1", "beta-2", "gamma"}),
        ("attributes.status IN ('KILLED', 'FAILED')", {"beta-1", "gamma"}),
        ("attributes.status LIKE 'FIN%'", {"alpha-1", "beta-2"}),
        ("attributes.run_name LIKE 'alpha%'", {"alpha-1", "alpha-2"}),
        ("run_name = 'gamma'", {"gamma"}),
        ("attributes.`Run name` ILIKE 'BETA%'", {"beta-1", "beta-2"}),
        ("datasets.name = 'mnist'", {"alpha-1"}),
        ("datasets.name IN ('mnist', 'imdb')", {"alpha-1", "beta-1"}),
        ("datasets.digest = 'd-imdb'", {"beta-1"}),
        ("datasets.context = 'training'", {"alpha-1"}),
        ("datasets.name LIKE 'nope%'", set()),
        (
            "params.model = 'cnn' AND metrics.acc > 0.85 AND tags.team = 'vision'",
            {"alpha-1"},
        ),
        ("params.model = 'cnn' and tags.team = 'nlp'", {"beta-1"}),
        ("metrics.missing > 0", set()),
    ],
)
def test_filter(world: World, filter_string: str, expected: set[str]) -> None:
    assert world.names(filter_string) == expected


def test_filter_on_times_and_ids(world: World) -> None:
    assert world.names(f"attributes.start_time >= {world.base + 2000}") == ACTIVE - {
        "alpha-1",
        "alpha-2",
    }
    assert world.names(f"attributes.start_time < {world.base + 1000}") == {"alpha-1"}
    assert world.names(f"attributes.created = {world.base + 4000}") == {"gamma"}
    ids = world.ids
    assert world.names(f"attributes.run_id IN ('{ids['alpha-1']}', '{ids['beta-1']}')") == {
        "alpha-1",
        "beta-1",
    }
    assert world.names(f"attributes.run_id = '{ids['alpha-2']}'") == {"alpha-2"}
    # the dashed UUID form and upper case name the same run
    dashed = str(uuid.UUID(ids["gamma"])).upper()
    assert world.names(f"run_id = '{dashed}'") == {"gamma"}
    assert world.names(
        f"attributes.run_id NOT IN ('{ids['alpha-1']}', '{ids['beta-1']}')"
    ) == ACTIVE - {"alpha-1", "beta-1"}
    # a deleted run is not found by id either, unless asked for
    assert world.names(f"attributes.run_id = '{ids['zeta']}'") == set()
    found = world.client.search_runs(
        [world.exp_id], f"attributes.run_id = '{ids['zeta']}'", run_view_type="all"
    )
    assert [r.info.run_id for r in found] == [ids["zeta"]]


def test_view_types(world: World) -> None:
    assert world.search(run_view_type="deleted_only") == ["zeta"]
    assert set(world.search(run_view_type="all")) == {s.name for s in SPECS}
    assert set(world.search(run_view_type="active_only")) == ACTIVE


def test_results_are_whole_runs(world: World) -> None:
    [run] = world.client.search_runs([world.exp_id], "run_name = 'alpha-1'")
    assert run.info.status == "FINISHED" and run.info.end_time is not None
    assert run.data.metrics == {"acc": 0.9, "loss": 0.1, "val loss": 0.2}
    assert run.data.params == {"lr": "0.01", "model": "cnn"}
    assert run.data.tags["my tag"] == "x y"
    assert [i.dataset.name for i in run.inputs] == ["mnist"]


def test_default_order_is_newest_first(world: World) -> None:
    assert world.search() == ["epsilon", "gamma", "beta-2", "beta-1", "alpha-2", "alpha-1"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # missing metrics last in both directions, NaN after numbers, ties newest first
        (["metrics.acc DESC"], ["alpha-1", "beta-1", "alpha-2", "gamma", "epsilon", "beta-2"]),
        (["metrics.acc ASC"], ["alpha-2", "beta-1", "alpha-1", "gamma", "epsilon", "beta-2"]),
        (["metrics.acc"], ["alpha-2", "beta-1", "alpha-1", "gamma", "epsilon", "beta-2"]),
        (["params.lr ASC"], ["beta-1", "alpha-1", "gamma", "alpha-2", "beta-2", "epsilon"]),
        (
            ["params.lr DESC", "metrics.acc DESC"],
            ["beta-2", "alpha-2", "gamma", "alpha-1", "beta-1", "epsilon"],
        ),
        (
            ["metrics.`val loss` DESC"],
            ["alpha-2", "alpha-1", "epsilon", "gamma", "beta-2", "beta-1"],
        ),
        (
            ["attributes.start_time ASC"],
            ["alpha-1", "alpha-2", "beta-1", "beta-2", "gamma", "epsilon"],
        ),
        (
            ["attributes.run_name DESC"],
            ["gamma", "epsilon", "beta-2", "beta-1", "alpha-2", "alpha-1"],
        ),
        (["start_time DESC"], ["epsilon", "gamma", "beta-2", "beta-1", "alpha-2", "alpha-1"]),
    ],
)
def test_order_by(world: World, order_by: list[str], expected: list[str]) -> None:
    assert world.search(order_by=order_by) == expected


def test_filter_and_order_together(world: World) -> None:
    assert world.search("tags.team ILIKE 'vis%'", order_by=["metrics.acc DESC"]) == [
        "alpha-1",
        "alpha-2",
        "gamma",
        "epsilon",
    ]


def test_search_across_experiments(world: World, uniq: Callable[..., str]) -> None:
    other = world.client.create_experiment(uniq())
    extra = world.client.create_run(other, run_name="alpha-other").info.run_id
    world.client.log_metric(extra, "acc", 0.95)
    found = world.client.search_runs(
        [world.exp_id, other], "metrics.acc > 0.85", order_by=["metrics.acc DESC"]
    )
    assert [r.info.run_id for r in found] == [extra, world.ids["alpha-1"]]
    # a single id as a string works as well
    assert [r.info.run_id for r in world.client.search_runs(other)] == [extra]
    # an experiment without runs (or that does not exist) finds nothing
    assert world.client.search_runs(["987654321"]) == []


@pytest.mark.parametrize(
    "filter_string",
    [
        "metrics.x >",
        "metrics.acc > 0.5 OR metrics.acc < 0.1",
        "foo.bar = 'x'",
        "metrics.acc = 'high'",
        "params.lr = 0.01",
        "tags.team = vision",
        "attributes.status = 'DONE'",
        "attributes.run_id = 'xyz'",
        "attributes.unknown = 'x'",
        "(metrics.acc > 0.5)",
        "metrics.acc > 0.5 AND",
        "metrics.acc > 0.5 metrics.loss < 1",
        "tags.team == 'x'",
        "metrics.acc LIKE '%9'",
        "attributes.start_time > 'yesterday'",
        "tags.team = 'unterminated",
        "metrics.acc IN (0.5)",
        "datasets.size = '1'",
        "metrics.my metric > 1",
        "attributes.status IN ()",
    ],
)
def test_malformed_filter(world: World, filter_string: str) -> None:
    with pytest.raises(sy.errors.InvalidArgument) as err:
        world.client.search_runs([world.exp_id], filter_string)
    assert err.value.field == "filter"


@pytest.mark.parametrize(
    "order_by",
    [
        ["metrics.acc SIDEWAYS"],
        ["foo.bar"],
        ["datasets.name ASC"],
        [""],
        ["metrics.acc DESC, params.lr"],
    ],
)
def test_malformed_order_by(world: World, order_by: list[str]) -> None:
    with pytest.raises(sy.errors.InvalidArgument) as err:
        world.client.search_runs([world.exp_id], order_by=order_by)
    assert err.value.field == "order_by"


def test_bad_page_tokens_and_limits(world: World) -> None:
    c = world.client
    for token in ("garbage", "!!!", "eyJmIjoxfQ", "a" * 100):
        with pytest.raises(sy.errors.InvalidArgument) as err:
            c.search_runs([world.exp_id], page_token=token)
        assert err.value.field == "page_token"
    first = c.search_runs([world.exp_id], max_results=2)
    assert len(first) == 2 and first.token
    # a token only continues the search that issued it
    with pytest.raises(sy.errors.InvalidArgument) as err:
        c.search_runs([world.exp_id], "metrics.acc > 0", max_results=2, page_token=first.token)
    assert err.value.field == "page_token"
    with pytest.raises(sy.errors.InvalidArgument):
        c.search_runs(
            [world.exp_id], order_by=["metrics.acc"], max_results=2, page_token=first.token
        )
    with pytest.raises(sy.errors.InvalidArgument) as err:
        c.search_runs([world.exp_id], max_results=50_001)
    assert err.value.field == "max_results"
    with pytest.raises(sy.errors.InvalidArgument) as err:
        c.search_runs([])
    assert err.value.field == "experiment_ids"
    with pytest.raises(sy.errors.NotFound):
        c.search_runs(["not-a-number"])


# -- paging ------------------------------------------------------------------------


@dataclass
class Row:
    run_id: str
    start_time: int
    metrics: dict[str, float]
    params: dict[str, str]
    name: str


def expected_order(rows: Sequence[Row], order_by: Sequence[tuple[str, str, bool]]) -> list[str]:
    """MLflow's order: keys in turn, missing last and NaN just before them in either
    direction, then start_time DESC, then run_id ASC."""
    keys = [*order_by, ("attribute", "start_time", False), ("attribute", "run_id", True)]
    out = list(rows)
    for kind, key, ascending in reversed(keys):  # stable sorts, least significant first

        def value(r: Row, kind: str = kind, key: str = key) -> object:
            if kind == "metric":
                return r.metrics.get(key)
            if kind == "param":
                return r.params.get(key)
            return {"start_time": r.start_time, "run_id": r.run_id, "run_name": r.name}[key]

        present = [r for r in out if value(r) is not None and value(r) == value(r)]
        nans = [r for r in out if value(r) is not None and value(r) != value(r)]
        missing = [r for r in out if value(r) is None]
        present.sort(key=value, reverse=not ascending)  # type: ignore[arg-type]
        out = present + nans + missing
    return [r.run_id for r in out]


@pytest.fixture(scope="module")
def paging(
    switchyard_platform: LocalPlatform, uniq: Callable[..., str]
) -> Iterator[tuple[sy.Client, str, list[Row]]]:
    with sy.Client(settings=switchyard_platform.client_settings()) as client:
        exp_id = client.create_experiment(uniq("paging"))
        base = int(time.time() * 1000) - 500_000
        rows = []
        for i in range(23):
            start = base + (i % 4) * 1000  # repeated start times: run_id breaks the ties
            run = client.create_run(exp_id, start_time=start, run_name=f"run-{i:02d}")
            special = {3: NAN, 11: NAN, 8: math.inf, 9: -math.inf}
            metrics = {} if i % 7 == 0 else {"m": special.get(i, float(i % 5))}
            params = {} if i % 6 == 5 else {"p": f"p{i % 3}"}
            client.log_batch(
                run.info.run_id,
                [sy.Metric(k, v, base, 0) for k, v in metrics.items()],
                params,
            )
            rows.append(Row(run.info.run_id, start, metrics, params, f"run-{i:02d}"))
        yield client, exp_id, rows


def walk(
    client: sy.Client, exp_id: str, order_by: list[str], size: int, filter_string: str = ""
) -> list[str]:
    ids: list[str] = []
    token = None
    for _ in range(100):
        page = client.search_runs(
            [exp_id], filter_string, order_by=order_by, max_results=size, page_token=token
        )
        assert len(page) <= size
        ids.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            return ids
        assert len(page) == size
    raise AssertionError("paging did not end")


ORDERS = [
    [],
    ["metrics.m DESC", "params.p ASC"],
    ["metrics.m ASC", "attributes.start_time ASC"],
    ["params.p DESC", "metrics.m DESC"],
    ["params.p ASC", "attributes.start_time ASC", "metrics.m DESC"],
    ["attributes.run_name DESC"],
    ["attributes.start_time ASC"],
]


def parse(order_by: list[str]) -> list[tuple[str, str, bool]]:
    kinds = {"metrics": "metric", "params": "param", "attributes": "attribute"}
    out = []
    for clause in order_by:
        target, direction = clause.split()
        entity, key = target.split(".", 1)
        out.append((kinds[entity], key, direction == "ASC"))
    return out


@pytest.mark.parametrize("order_by", ORDERS, ids=lambda o: ",".join(o) or "default")
def test_pages_walk_every_run_once_in_order(
    paging: tuple[sy.Client, str, list[Row]], order_by: list[str]
) -> None:
    client, exp_id, rows = paging
    expected = expected_order(rows, parse(order_by))
    whole = client.search_runs([exp_id], order_by=order_by)
    assert [r.info.run_id for r in whole] == expected
    for size in (1, 2, 5, 22, 23, 24):
        assert walk(client, exp_id, order_by, size) == expected, size


def test_pages_with_a_filter(paging: tuple[sy.Client, str, list[Row]]) -> None:
    client, exp_id, rows = paging
    kept = [r for r in rows if r.params.get("p") in ("p0", "p2")]
    order_by = ["metrics.m DESC", "params.p DESC"]
    expected = expected_order(kept, parse(order_by))
    assert len(expected) > 5
    assert walk(client, exp_id, order_by, 3, "params.p IN ('p0', 'p2')") == expected


def test_pages_ignore_runs_added_before_the_cursor(
    paging: tuple[sy.Client, str, list[Row]],
) -> None:
    # Keyset paging: a run that sorts before the cursor does not shift later pages.
    client, exp_id, rows = paging
    order_by = ["attributes.start_time ASC"]
    first = client.search_runs([exp_id], order_by=order_by, max_results=10)
    early = client.create_run(exp_id, start_time=rows[0].start_time - 10_000)
    try:
        rest = walk_from(client, exp_id, order_by, first.token)
        expected = expected_order(rows, parse(order_by))
        assert [r.info.run_id for r in first] + rest == expected
    finally:
        client.delete_run(early.info.run_id)


def walk_from(client: sy.Client, exp_id: str, order_by: list[str], token: str) -> list[str]:
    ids: list[str] = []
    while token:
        page = client.search_runs([exp_id], order_by=order_by, max_results=4, page_token=token)
        ids.extend(r.info.run_id for r in page)
        token = page.token
    return ids
