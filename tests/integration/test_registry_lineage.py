"""Lineage through the tracking service, and the append-only audit history."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest

import switchyard as sy
from switchyard.testing import LocalPlatform


def test_lineage_names_run_experiment_and_data(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    c = switchyard_client
    exp = c.create_experiment(uniq("exp"))
    run = c.create_run(exp, run_name="train")
    c.log_inputs(
        run.info.run_id,
        [
            sy.DatasetInput(
                sy.Dataset("transactions", "d1g357", "s3", "s3://data/tx.parquet"),
                {"mlflow.data.context": "training"},
            )
        ],
    )
    name = c.create_registered_model(uniq()).name
    c.create_model_version(name, f"runs:/{run.info.run_id}/model")
    lineage = c.get_model_lineage(name, 1)
    assert lineage.run_id == run.info.run_id and lineage.experiment_id == exp
    assert lineage.run is not None and lineage.run.run_name == "train"
    (data,) = lineage.dataset_inputs
    assert (data.dataset.name, data.dataset.digest, data.dataset.source) == (
        "transactions",
        "d1g357",
        "s3://data/tx.parquet",
    )
    assert data.tags == {"mlflow.data.context": "training"}
    assert lineage.deployments == []
    # A version from a plain URI has no run to trace.
    c.create_model_version(name, "file:///elsewhere")
    bare = c.get_model_lineage(name, 2)
    assert bare.run is None and bare.dataset_inputs == [] and bare.run_id is None
    with pytest.raises(sy.errors.NotFound):
        c.get_model_lineage(name, 3)


def test_history_records_who_did_what(
    switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    c = switchyard_client
    name, renamed = uniq(), uniq("renamed")
    c.create_registered_model(name)
    c.create_model_version(name, "file:///a")
    c.create_model_version(name, "file:///b")
    c.set_registered_model_alias(name, "champion", 1)
    c.set_registered_model_alias(name, "champion", 2)
    c.transition_model_version_stage(name, 2, "Staging")
    c.rename_registered_model(name, renamed)
    c.set_model_version_tag(renamed, 1, "ok", "yes")
    c.delete_registered_model_alias(renamed, "champion")
    history = c.get_model_history(renamed)
    assert [e.action for e in history] == [
        "model.created",
        "version.created",
        "version.created",
        "alias.set",
        "alias.set",
        "stage.changed",
        "model.renamed",
        "version.tag_set",
        "alias.deleted",
    ]
    assert [e.id for e in history] == sorted(e.id for e in history)
    assert all(e.actor and e.timestamp > 0 for e in history)
    move = history[4]
    assert (move.alias, move.from_version, move.to_version) == ("champion", 1, 2)
    assert (history[5].from_stage, history[5].to_stage) == ("None", "Staging")
    assert history[6].detail == f"{name} -> {renamed}" and history[6].name == renamed
    # The history outlives the model.
    c.delete_registered_model(renamed)
    after = c.get_model_history(renamed)
    assert [e.action for e in after][-1] == "model.deleted"
    assert len(after) == len(history) + 1
    with pytest.raises(sy.errors.NotFound):
        c.get_model_history(uniq("never"))


async def test_history_is_append_only(switchyard_platform: LocalPlatform) -> None:
    settings = switchyard_platform.settings
    conn = await asyncpg.connect(
        settings.database_url, server_settings={"search_path": settings.schema_for("registry")}
    )
    try:
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(statement)
    finally:
        await conn.close()
