"""Registered models through `sy.Client`: create, get, rename, describe, tags, search, delete."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import switchyard as sy
from switchyard.core.config import Settings


def test_create_and_get(switchyard_client: sy.Client, uniq: Callable[..., str]) -> None:
    name = uniq()
    created = switchyard_client.create_registered_model(
        name, tags={"team": "risk", "n": 1}, description="fraud scores"
    )
    assert isinstance(created, sy.RegisteredModel)
    assert created.name == name and created.description == "fraud scores"
    assert created.tags == {"team": "risk", "n": "1"}
    assert created.aliases == {} and created.latest_versions == []
    assert created.creation_timestamp == created.last_updated_timestamp > 0
    assert switchyard_client.get_registered_model(name) == created
    with pytest.raises(sy.errors.AlreadyExists) as exc:
        switchyard_client.create_registered_model(name)
    assert exc.value.field == "name"


def test_rename_keeps_versions_aliases_and_tags(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    name, new_name = uniq(), uniq("renamed")
    switchyard_client.create_registered_model(name, tags={"k": "v"})
    switchyard_client.create_model_version(name, "file:///tmp/m1")
    switchyard_client.set_registered_model_alias(name, "champion", 1)
    renamed = switchyard_client.rename_registered_model(name, new_name)
    assert renamed.name == new_name and renamed.tags == {"k": "v"}
    assert renamed.aliases == {"champion": 1}
    assert switchyard_client.get_model_version(new_name, 1).name == new_name
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.get_registered_model(name)
    other = uniq()
    switchyard_client.create_registered_model(other)
    with pytest.raises(sy.errors.AlreadyExists) as exc:
        switchyard_client.rename_registered_model(new_name, other)
    assert exc.value.field == "new_name"


def test_update_description_and_tags(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    name = uniq()
    before = switchyard_client.create_registered_model(name)
    updated = switchyard_client.update_registered_model(name, "better")
    assert updated.description == "better"
    assert updated.last_updated_timestamp >= before.last_updated_timestamp
    switchyard_client.set_registered_model_tag(name, "stage", "beta")
    switchyard_client.set_registered_model_tag(name, "stage", "ga")
    assert switchyard_client.get_registered_model(name).tags == {"stage": "ga"}
    switchyard_client.delete_registered_model_tag(name, "stage")
    assert switchyard_client.get_registered_model(name).tags == {}
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.delete_registered_model_tag(name, "stage")
    with pytest.raises(sy.errors.InvalidArgument) as exc:
        switchyard_client.set_registered_model_tag(name, "../x", "v")
    assert exc.value.field == "key"


def test_delete_removes_versions_and_aliases(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    name = uniq()
    switchyard_client.create_registered_model(name)
    switchyard_client.create_model_version(name, "file:///tmp/m")
    switchyard_client.set_registered_model_alias(name, "prod", 1)
    switchyard_client.delete_registered_model(name)
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.get_registered_model(name)
    assert switchyard_client.search_model_versions(f"name = '{name}'") == []
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.delete_registered_model(name)
    # A new model of the same name starts again at version 1.
    switchyard_client.create_registered_model(name)
    assert switchyard_client.create_model_version(name, "file:///tmp/m").version == 1


def test_search_by_name_and_tags_with_pages(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    prefix = uniq("search")
    for i in range(7):
        switchyard_client.create_registered_model(
            f"{prefix}-{i}", tags={"team": "a" if i % 2 else "b", "tier": str(i % 3)}
        )
    found = switchyard_client.search_registered_models(f"name LIKE '{prefix}-%'")
    assert [m.name for m in found] == [f"{prefix}-{i}" for i in range(7)]
    assert found.token == ""

    both = switchyard_client.search_registered_models(
        f"name LIKE '{prefix}%' and tags.team = 'a' and tags.tier != '0'"
    )
    assert [m.name for m in both] == [f"{prefix}-1", f"{prefix}-5"]
    upper = switchyard_client.search_registered_models(f"name ILIKE '{prefix.upper()}-1'")
    assert [m.name for m in upper] == [f"{prefix}-1"]

    pages, token = [], None
    while True:
        page = switchyard_client.search_registered_models(
            f"name LIKE '{prefix}%'",
            max_results=3,
            order_by=["creation_timestamp DESC"],
            page_token=token,
        )
        pages.append([m.name for m in page])
        token = page.token
        if not token:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [n for p in pages for n in p] == [f"{prefix}-{i}" for i in reversed(range(7))]


def test_search_errors_name_the_field(switchyard_client: sy.Client) -> None:
    bad = [
        ("metrics.acc > 1", "filter"),
        ("name = ", "filter"),
        ("run_id = 'x'", "filter"),  # a version attribute, not a model one
    ]
    for text, field in bad:
        with pytest.raises(sy.errors.InvalidArgument) as exc:
            switchyard_client.search_registered_models(text)
        assert exc.value.field == field, text
    with pytest.raises(sy.errors.InvalidArgument) as exc:
        switchyard_client.search_registered_models(order_by=["tags.x"])
    assert exc.value.field == "order_by"
    with pytest.raises(sy.errors.InvalidArgument) as exc:
        switchyard_client.search_registered_models(max_results=5000)
    assert exc.value.field == "max_results"
    with pytest.raises(sy.errors.InvalidArgument) as exc:
        switchyard_client.search_registered_models(page_token="garbage!")
    assert exc.value.field == "page_token"


@pytest.mark.parametrize(
    "name", ["", "   ", "a/b", "a@b", "x" * 300], ids=["empty", "blank", "slash", "at", "long"]
)
def test_bad_names_are_refused(switchyard_client: sy.Client, name: str) -> None:
    with pytest.raises(sy.errors.InvalidArgument) as exc:
        switchyard_client.create_registered_model(name)
    assert exc.value.field == "name"


def test_search_tag_operators_follow_tag_changes(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    c = switchyard_client
    prefix = uniq("ops")
    c.create_registered_model(f"{prefix}-a", tags={"team": "alpha", "tier": "1"})
    c.create_registered_model(f"{prefix}-b", tags={"team": "beta", "tier": "2"})
    c.create_registered_model(f"{prefix}-c")  # no tags at all

    def names(extra: str) -> list[str]:
        found = c.search_registered_models(f"name LIKE '{prefix}%' and {extra}")
        return [m.name.removeprefix(f"{prefix}-") for m in found]

    assert names("tags.team != 'alpha'") == ["b"]  # a model without the tag never matches
    assert names("tags.team LIKE 'al%'") == ["a"]
    assert names("tags.team ILIKE 'BE%'") == ["b"]
    assert names("tags.tier IN ('1', '2')") == ["a", "b"]
    assert names("tags.tier NOT IN ('1')") == ["b"]
    assert names("tags.team IS NULL") == ["c"]
    assert names("tags.team IS NOT NULL") == ["a", "b"]
    assert names("tags.team = 'alpha' and tags.team = 'beta'") == []
    c.set_registered_model_tag(f"{prefix}-c", "team", "alpha")
    c.delete_registered_model_tag(f"{prefix}-a", "team")
    assert names("tags.team = 'alpha'") == ["c"]
    assert c.get_registered_model(f"{prefix}-a").tags == {"tier": "1"}


async def test_async_client_has_the_same_calls(
    switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    name = uniq("async")
    async with sy.AsyncClient(settings=switchyard_settings) as client:
        await client.create_registered_model(name, tags={"k": "v"})
        version = await client.create_model_version(name, "file:///models/x")
        await client.set_registered_model_alias(name, "champion", version.version)
        assert (await client.get_model_version_by_alias(name, "champion")).version == 1
        uri = await client.get_model_version_download_uri(name, alias="champion")
        assert uri == "file:///models/x"
        found = await client.search_registered_models(f"name = '{name}' and tags.k = 'v'")
        assert [m.aliases for m in found] == [{"champion": 1}]
        history = await client.get_model_history(name)
        assert [e.action for e in history] == ["model.created", "version.created", "alias.set"]
        with pytest.raises(sy.errors.NotFound):
            await client.get_model_version(name, 2)
