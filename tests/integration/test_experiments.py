"""Experiments through `sy.Client`, against the real embedded platform."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import uuid4

import pytest

import switchyard as sy
from switchyard.testing.platform import LocalPlatform


def walk(client: sy.Client, max_results: int, **kwargs: object) -> list[sy.Experiment]:
    """Every page of a search, asserting each page's size."""
    found: list[sy.Experiment] = []
    token = None
    for _ in range(1000):
        page = client.search_experiments(max_results=max_results, page_token=token, **kwargs)
        assert len(page) <= max_results
        found.extend(page)
        token = page.token
        if not token:
            return found
        assert len(page) == max_results  # only the last page may be short
    raise AssertionError("search did not end")


def test_create_and_get(
    switchyard_client: sy.Client, switchyard_platform: LocalPlatform, uniq: Callable[..., str]
) -> None:
    name = uniq()
    before = int(time.time() * 1000)
    exp_id = switchyard_client.create_experiment(name, tags={"team": "ml", "n": 3})
    after = int(time.time() * 1000)
    assert exp_id.isdigit() and exp_id != "0"

    exp = switchyard_client.get_experiment(exp_id)
    assert isinstance(exp, sy.Experiment)
    assert exp.experiment_id == exp_id
    assert exp.name == name
    assert exp.tags == {"team": "ml", "n": "3"}
    assert exp.lifecycle_stage == "active"
    root = switchyard_platform.settings.artifact_root
    assert root
    assert exp.artifact_location == f"{root.rstrip('/')}/{exp_id}"
    assert before - 5 <= exp.creation_time <= after + 5
    assert exp.last_update_time >= exp.creation_time

    by_name = switchyard_client.get_experiment_by_name(name)
    assert by_name == exp


def test_explicit_artifact_location(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    location = f"s3://bucket/custom/{uuid4().hex}"
    exp_id = switchyard_client.create_experiment(uniq(), artifact_location=location)
    assert switchyard_client.get_experiment(exp_id).artifact_location == location
    run = switchyard_client.create_run(exp_id)
    assert run.info.artifact_uri == f"{location}/{run.info.run_id}/artifacts"


def test_ids_are_distinct(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    ids = {switchyard_client.create_experiment(uniq()) for _ in range(3)}
    assert len(ids) == 3


def test_default_experiment_exists(switchyard_client: sy.Client) -> None:
    default = switchyard_client.get_experiment("0")
    assert default.name == "Default"
    assert default.lifecycle_stage == "active"
    assert switchyard_client.get_experiment_by_name("Default") == default


def test_get_by_name_missing_is_none(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    assert switchyard_client.get_experiment_by_name(uniq("missing")) is None


def test_duplicate_name_already_exists(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    name = uniq()
    switchyard_client.create_experiment(name)
    with pytest.raises(sy.errors.AlreadyExists):
        switchyard_client.create_experiment(name)
    # the failed create left nothing behind
    found = switchyard_client.search_experiments(filter_string=f"name = '{name}'")
    assert len(found) == 1


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_name_invalid(switchyard_client: sy.Client, name: str) -> None:
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.create_experiment(name)
    assert err.value.field == "name"


def test_overlong_name_invalid(switchyard_client: sy.Client) -> None:
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.create_experiment("x" * 501)
    assert err.value.field == "name"


def test_invalid_tag_key(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    name = uniq()
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.create_experiment(name, tags={"bad key!": "v"})
    assert err.value.field == "tags.key"
    assert switchyard_client.get_experiment_by_name(name) is None


@pytest.mark.parametrize("exp_id", ["999999999", "abc", "-1", "1.5"])
def test_unknown_id_not_found(
    switchyard_client: sy.Client, exp_id: str, uniq: Callable[..., str]
) -> None:
    with pytest.raises(sy.errors.NotFound) as err:
        switchyard_client.get_experiment(exp_id)
    assert err.value.entity == "experiment"
    for call in (
        switchyard_client.delete_experiment,
        switchyard_client.restore_experiment,
    ):
        with pytest.raises(sy.errors.NotFound):
            call(exp_id)
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.rename_experiment(exp_id, uniq())
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.set_experiment_tag(exp_id, "k", "v")


def test_search_name_like_order_and_pages(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    prefix = uniq("search")
    names = [f"{prefix}-{c}" for c in "cabed"]
    ids = {n: switchyard_client.create_experiment(n) for n in names}
    # an experiment that merely contains the prefix must not match `LIKE 'prefix%'`
    switchyard_client.create_experiment(f"x{prefix}")

    found = switchyard_client.search_experiments(filter_string=f"name LIKE '{prefix}%'")
    assert sorted(e.name for e in found) == sorted(names)
    assert found.token == ""

    asc = switchyard_client.search_experiments(
        filter_string=f"name LIKE '{prefix}%'", order_by=["name ASC"]
    )
    assert [e.name for e in asc] == sorted(names)
    desc = switchyard_client.search_experiments(
        filter_string=f"attributes.name LIKE '{prefix}%'", order_by=["name DESC"]
    )
    assert [e.name for e in desc] == sorted(names, reverse=True)
    by_id = switchyard_client.search_experiments(
        filter_string=f"name LIKE '{prefix}%'", order_by=["experiment_id DESC"]
    )
    assert [e.experiment_id for e in by_id] == sorted(ids.values(), key=int, reverse=True)

    for size in (1, 2, 3, 5):
        pages = walk(
            switchyard_client, size, filter_string=f"name LIKE '{prefix}%'", order_by=["name DESC"]
        )
        assert [e.name for e in pages] == sorted(names, reverse=True), size

    ilike = switchyard_client.search_experiments(filter_string=f"name ILIKE '{prefix.upper()}%'")
    assert len(ilike) == 5
    like_upper = switchyard_client.search_experiments(
        filter_string=f"name LIKE '{prefix.upper()}%'"
    )
    assert len(like_upper) == 0
    exact = switchyard_client.search_experiments(filter_string=f"name = '{names[0]}'")
    assert [e.experiment_id for e in exact] == [ids[names[0]]]


def test_search_default_order_is_newest_first(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    prefix = uniq("order")
    made = []
    for i in range(3):
        made.append(switchyard_client.create_experiment(f"{prefix}-{i}"))
        time.sleep(0.003)  # distinct creation times
    found = switchyard_client.search_experiments(filter_string=f"name LIKE '{prefix}%'")
    assert [e.experiment_id for e in found] == made[::-1]


def test_search_walks_all_pages_of_everything(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    for _ in range(3):
        switchyard_client.create_experiment(uniq("all"))
    everything = switchyard_client.search_experiments(view_type="all", max_results=50_000)
    paged = walk(switchyard_client, 2, view_type="all")
    assert [e.experiment_id for e in paged][: len(everything)] == [
        e.experiment_id for e in everything
    ]
    assert len({e.experiment_id for e in paged}) == len(paged)


def test_search_tags(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    prefix = uniq("tags")
    a = switchyard_client.create_experiment(f"{prefix}-a", tags={"group": "red", "owner": "ann"})
    b = switchyard_client.create_experiment(f"{prefix}-b", tags={"group": "blue"})
    c = switchyard_client.create_experiment(f"{prefix}-c")
    scope = f"name LIKE '{prefix}%'"

    def ids(filter_string: str) -> set[str]:
        found = switchyard_client.search_experiments(filter_string=f"{scope} AND {filter_string}")
        return {e.experiment_id for e in found}

    assert ids("tags.group = 'red'") == {a}
    assert ids("tags.group != 'red'") == {b}
    assert ids("tags.group LIKE '%e%'") == {a, b}
    assert ids("tags.group IN ('red', 'blue')") == {a, b}
    assert ids("tags.owner = 'ann' AND tags.group = 'red'") == {a}
    assert ids("tags.owner = 'ann' AND tags.group = 'blue'") == set()
    assert ids("tags.group IS NULL") == {c}
    assert ids("tags.`group` ILIKE 'BLUE'") == {b}
    # the tags come back on each experiment
    found = switchyard_client.search_experiments(filter_string=f"{scope} AND tags.group = 'red'")
    assert found[0].tags == {"group": "red", "owner": "ann"}


@pytest.mark.parametrize(
    ("filter_string", "order_by", "field"),
    [
        ("name = ", None, "filter"),
        ("name = 'a' OR name = 'b'", None, "filter"),
        ("metrics.acc > 1", None, "filter"),
        ("unknown_attr = 'x'", None, "filter"),
        ("creation_time > 'yesterday'", None, "filter"),
        ("", ["tags.group ASC"], "order_by"),
        ("", ["name SIDEWAYS"], "order_by"),
    ],
)
def test_search_invalid(
    switchyard_client: sy.Client, filter_string: str, order_by: list[str] | None, field: str
) -> None:
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.search_experiments(filter_string=filter_string, order_by=order_by)
    assert err.value.field == field


def test_search_bad_page_token_and_limits(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.search_experiments(page_token="not-a-token")
    assert err.value.field == "page_token"
    # a token from another search (different filter) is rejected, not misapplied
    for _ in range(2):
        switchyard_client.create_experiment(uniq("tok"))
    first = switchyard_client.search_experiments(max_results=1, view_type="all")
    assert first.token
    with pytest.raises(sy.errors.InvalidArgument):
        switchyard_client.search_experiments(
            max_results=1, page_token=first.token, filter_string="name LIKE 'tok%'"
        )
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.search_experiments(max_results=50_001)
    assert err.value.field == "max_results"


def test_rename(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    old, new = uniq("old"), uniq("new")
    exp_id = switchyard_client.create_experiment(old)
    created = switchyard_client.get_experiment(exp_id)
    time.sleep(0.002)
    switchyard_client.rename_experiment(exp_id, new)
    renamed = switchyard_client.get_experiment(exp_id)
    assert renamed.name == new
    assert renamed.last_update_time >= created.last_update_time
    assert switchyard_client.get_experiment_by_name(old) is None
    assert switchyard_client.get_experiment_by_name(new).experiment_id == exp_id  # type: ignore[union-attr]
    # the old name is free again
    switchyard_client.create_experiment(old)

    other = switchyard_client.create_experiment(uniq())
    with pytest.raises(sy.errors.AlreadyExists):
        switchyard_client.rename_experiment(other, new)
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.rename_experiment(other, "")
    assert err.value.field == "new_name"


def test_delete_and_restore(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    name = uniq("del")
    exp_id = switchyard_client.create_experiment(name)
    run = switchyard_client.create_run(exp_id)
    scope = f"name = '{name}'"

    def ids(view: str) -> list[str]:
        found = switchyard_client.search_experiments(view_type=view, filter_string=scope)
        return [e.experiment_id for e in found]

    assert ids("active_only") == [exp_id]
    assert ids("deleted_only") == []

    switchyard_client.delete_experiment(exp_id)
    assert switchyard_client.get_experiment(exp_id).lifecycle_stage == "deleted"
    assert ids("active_only") == []
    assert ids("deleted_only") == [exp_id]
    assert ids("all") == [exp_id]
    # still found by name, as MLflow does
    assert switchyard_client.get_experiment_by_name(name).lifecycle_stage == "deleted"  # type: ignore[union-attr]
    # its runs follow it
    assert switchyard_client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    # a deleted experiment takes no new runs and no changes
    with pytest.raises(sy.errors.FailedPrecondition):
        switchyard_client.create_run(exp_id)
    with pytest.raises(sy.errors.FailedPrecondition):
        switchyard_client.set_experiment_tag(exp_id, "k", "v")
    with pytest.raises(sy.errors.FailedPrecondition):
        switchyard_client.rename_experiment(exp_id, uniq())
    # deleting twice is harmless
    switchyard_client.delete_experiment(exp_id)

    switchyard_client.restore_experiment(exp_id)
    assert switchyard_client.get_experiment(exp_id).lifecycle_stage == "active"
    assert ids("active_only") == [exp_id]
    assert ids("deleted_only") == []
    assert switchyard_client.get_run(run.info.run_id).info.lifecycle_stage == "active"
    switchyard_client.create_run(exp_id)


def test_default_experiment_cannot_be_deleted(switchyard_client: sy.Client) -> None:
    with pytest.raises(sy.errors.InvalidArgument):
        switchyard_client.delete_experiment("0")
    assert switchyard_client.get_experiment("0").lifecycle_stage == "active"


def test_set_experiment_tag(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    exp_id = switchyard_client.create_experiment(uniq(), tags={"a": "1"})
    switchyard_client.set_experiment_tag(exp_id, "b", 2)
    switchyard_client.set_experiment_tag(exp_id, "a", "one")
    assert switchyard_client.get_experiment(exp_id).tags == {"a": "one", "b": "2"}
    with pytest.raises(sy.errors.InvalidArgument) as err:
        switchyard_client.set_experiment_tag(exp_id, "bad key!", "v")
    assert err.value.field == "tags.key"
    with pytest.raises(sy.errors.InvalidArgument):
        switchyard_client.set_experiment_tag(exp_id, "big", "x" * 8001)
    assert switchyard_client.get_experiment(exp_id).tags == {"a": "one", "b": "2"}
