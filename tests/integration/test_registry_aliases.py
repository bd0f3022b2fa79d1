"""Aliases and legacy stages: moves, their events in order, archive_existing_versions."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import switchyard as sy
from switchyard.core.config import Settings


@pytest.fixture
def model(switchyard_client: sy.Client, uniq: Callable[..., str]) -> str:
    name = switchyard_client.create_registered_model(uniq()).name
    for i in range(3):
        switchyard_client.create_model_version(name, f"file:///models/{name}/{i + 1}")
    return name


def test_set_move_resolve_delete(switchyard_client: sy.Client, model: str) -> None:
    c = switchyard_client
    c.set_registered_model_alias(model, "champion", 1)
    c.set_registered_model_alias(model, "challenger", 2)
    assert c.get_registered_model(model).aliases == {"challenger": 2, "champion": 1}
    assert c.get_model_version_by_alias(model, "champion").version == 1
    c.set_registered_model_alias(model, "champion", "3")
    v3 = c.get_model_version_by_alias(model, "champion")
    assert v3.version == 3 and v3.aliases == ["champion"]
    assert c.get_model_version(model, 1).aliases == []
    uri = c.get_model_version_download_uri(model, alias="champion")
    assert uri == f"file:///models/{model}/3"
    c.delete_registered_model_alias(model, "champion")
    assert c.get_registered_model(model).aliases == {"challenger": 2}
    with pytest.raises(sy.errors.NotFound) as exc:
        c.get_model_version_by_alias(model, "champion")
    assert exc.value.entity == "alias"
    with pytest.raises(sy.errors.NotFound):
        c.delete_registered_model_alias(model, "champion")
    # Deleting a version takes its aliases with it.
    c.delete_model_version(model, 2)
    assert c.get_registered_model(model).aliases == {}


def test_alias_moves_are_events_in_order(
    switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    stream = sy.events("sy.registry.>", timeout=10, settings=switchyard_settings)
    with sy.Client(settings=switchyard_settings) as c:
        name = c.create_registered_model(uniq()).name
        for _ in range(2):
            c.create_model_version(name, f"file:///models/{name}")
        c.set_registered_model_alias(name, "champion", 1)
        c.set_registered_model_alias(name, "champion", 1)  # no change: no event
        c.set_registered_model_alias(name, "champion", 2)
        c.delete_registered_model_alias(name, "champion")
    mine = []
    for event in stream:
        if event.subject == name:
            mine.append(event)
        if event.type == "sy.registry.alias.deleted" and event.subject == name:
            break
    assert [e.type for e in mine] == [
        "sy.registry.model.created",
        "sy.registry.version.created",
        "sy.registry.version.created",
        "sy.registry.alias.set",
        "sy.registry.alias.set",
        "sy.registry.alias.deleted",
    ]
    moves = [(e.data.alias, e.data.version, e.data.previous_version) for e in mine[3:]]
    assert moves == [("champion", 1, 0), ("champion", 2, 1), ("champion", 0, 2)]
    assert mine[4].data.source == f"file:///models/{name}"
    assert mine[4].data.storage_location == f"file:///models/{name}"
    assert all(e.source == "switchyard/registry" and e.data.actor for e in mine[3:])
    assert mine[1].data.version.version == 1 and mine[2].data.version.version == 2


@pytest.mark.parametrize(
    "alias", ["", "latest", "LATEST", "v1", "V12", "has space", "dot.ted", "x" * 256]
)
def test_bad_alias_names_change_nothing(
    switchyard_client: sy.Client, model: str, alias: str
) -> None:
    with pytest.raises(sy.errors.InvalidArgument) as exc:
        switchyard_client.set_registered_model_alias(model, alias, 1)
    assert exc.value.field == "alias"
    assert switchyard_client.get_registered_model(model).aliases == {}
    history = switchyard_client.get_model_history(model)
    assert "alias.set" not in [e.action for e in history]


def test_alias_to_a_version_of_another_model(
    switchyard_client: sy.Client, model: str, uniq: Callable[..., str]
) -> None:
    other = switchyard_client.create_registered_model(uniq()).name
    for _ in range(5):
        switchyard_client.create_model_version(other, "file:///other")
    with pytest.raises(sy.errors.NotFound) as exc:
        switchyard_client.set_registered_model_alias(model, "champion", 5)  # v5 is other's
    assert exc.value.entity == "model_version" and f"'{model}' has no version 5" in str(exc.value)
    with pytest.raises(sy.errors.NotFound) as missing:
        switchyard_client.set_registered_model_alias(uniq("missing"), "champion", 1)
    assert missing.value.entity == "registered_model"
    assert switchyard_client.get_registered_model(model).aliases == {}


def test_stage_transitions_with_archive(switchyard_settings: Settings, model: str) -> None:
    stream = sy.events("sy.registry.stage.changed", timeout=10, settings=switchyard_settings)
    with sy.Client(settings=switchyard_settings) as c:
        v1 = c.transition_model_version_stage(model, 1, "production")
        assert v1.current_stage == "Production"
        c.transition_model_version_stage(model, 2, "Production")
        promoted = c.transition_model_version_stage(
            model, 3, "Production", archive_existing_versions=True
        )
        assert promoted.current_stage == "Production"
        stages = {v.version: v.current_stage for v in c.search_model_versions(f"name = '{model}'")}
        assert stages == {1: "Archived", 2: "Archived", 3: "Production"}
        latest = c.get_latest_versions(model, ["Production"])
        assert [v.version for v in latest] == [3]
        assert {v.current_stage for v in c.get_latest_versions(model)} == {"Archived", "Production"}
        with pytest.raises(sy.errors.InvalidArgument) as bad:
            c.transition_model_version_stage(model, 1, "Deployed")
        assert bad.value.field == "stage"
        with pytest.raises(sy.errors.InvalidArgument) as archive:
            c.transition_model_version_stage(model, 1, "None", archive_existing_versions=True)
        assert archive.value.field == "archive_existing_versions"
        history = [e for e in c.get_model_history(model) if e.action == "stage.changed"]
    assert [(e.version, e.from_stage, e.to_stage) for e in history] == [
        (1, "None", "Production"),
        (2, "None", "Production"),
        (3, "None", "Production"),
        (1, "Production", "Archived"),
        (2, "Production", "Archived"),
    ]
    mine = []
    for event in stream:
        if event.subject == model:
            mine.append(event.data)
        if len(mine) == 3:
            break
    last = mine[-1]
    assert (last.version, last.from_stage, last.to_stage) == (3, "None", "Production")
    assert list(last.archived_versions) == [1, 2]
    assert last.storage_location == f"file:///models/{model}/3"
