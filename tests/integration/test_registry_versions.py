"""Model versions: numbering (also under concurrent creators), runs, search, bad input."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.sdk.registry_entities import ModelSignature


@pytest.fixture
def model(switchyard_client: sy.Client, uniq: Callable[..., str]) -> str:
    return switchyard_client.create_registered_model(uniq()).name


@pytest.fixture
def run(switchyard_client: sy.Client, uniq: Callable[..., str]) -> sy.Run:
    return switchyard_client.create_run(switchyard_client.create_experiment(uniq("exp")))


def test_create_from_a_run(switchyard_client: sy.Client, model: str, run: sy.Run) -> None:
    run_id = run.info.run_id
    v = switchyard_client.create_model_version(
        model,
        f"runs:/{run_id}/model",
        tags={"framework": "sklearn"},
        description="first",
        signature=ModelSignature(inputs='[{"type": "double"}]', outputs='[{"type": "long"}]'),
        flavor="sklearn",
        content_digest="sha256:" + "ab" * 32,
    )
    assert isinstance(v, sy.ModelVersion)
    assert (v.name, v.version, v.current_stage, v.status) == (model, 1, "None", "READY")
    assert v.run_id == run_id and v.experiment_id == run.info.experiment_id
    assert v.source == f"runs:/{run_id}/model"
    assert v.storage_location == f"{run.info.artifact_uri}/model"
    assert v.tags == {"framework": "sklearn"} and v.description == "first"
    assert v.signature == ModelSignature('[{"type": "double"}]', '[{"type": "long"}]')
    assert v.flavor == "sklearn" and v.content_digest == "sha256:" + "ab" * 32
    assert switchyard_client.get_model_version(model, "1") == v
    assert switchyard_client.get_model_version_download_uri(model, 1) == v.storage_location
    # The run may also be named beside a plain artifact URI.
    w = switchyard_client.create_model_version(model, "s3://bucket/m", run_id=run_id)
    assert (w.version, w.run_id, w.storage_location) == (2, run_id, "s3://bucket/m")
    latest = switchyard_client.get_registered_model(model).latest_versions
    assert [x.version for x in latest] == [2]


def test_numbers_have_no_gaps_or_repeats_under_concurrency(
    switchyard_settings: Settings, model: str
) -> None:
    threads, each = 8, 6
    got: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def create() -> None:
        try:
            with sy.Client(settings=switchyard_settings) as client:
                start.wait()
                for _ in range(each):
                    v = client.create_model_version(model, f"file:///tmp/{uuid.uuid4().hex}")
                    with lock:
                        got.append(v.version)
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=create) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not errors, errors
    assert sorted(got) == list(range(1, threads * each + 1))
    with sy.Client(settings=switchyard_settings) as client:
        stored = client.search_model_versions(f"name = '{model}'", order_by=["version_number"])
        assert [v.version for v in stored] == list(range(1, threads * each + 1))


def test_update_delete_and_tags(switchyard_client: sy.Client, model: str) -> None:
    for _ in range(3):
        switchyard_client.create_model_version(model, "file:///tmp/m")
    updated = switchyard_client.update_model_version(model, 2, description="better")
    assert updated.description == "better"
    switchyard_client.set_model_version_tag(model, 2, "validated", "yes")
    assert switchyard_client.get_model_version(model, 2).tags == {"validated": "yes"}
    switchyard_client.delete_model_version_tag(model, 2, "validated")
    assert switchyard_client.get_model_version(model, 2).tags == {}
    switchyard_client.delete_model_version(model, 3)
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.get_model_version(model, 3)
    # A deleted number is never handed out again.
    assert switchyard_client.create_model_version(model, "file:///tmp/m").version == 4


def test_search_versions(
    switchyard_client: sy.Client, run: sy.Run, uniq: Callable[..., str]
) -> None:
    a, b = uniq(), uniq()
    for name in (a, b):
        switchyard_client.create_registered_model(name)
    run_id = run.info.run_id
    switchyard_client.create_model_version(a, f"runs:/{run_id}/m", tags={"k": "v"})
    switchyard_client.create_model_version(a, "file:///tmp/other", tags={"k": "w"})
    switchyard_client.create_model_version(b, f"runs:/{run_id}/m", tags={"k": "v"})

    found = switchyard_client.search_model_versions(
        f"name = '{a}' and run_id = '{run_id}' and tags.k = 'v'"
    )
    assert [(v.name, v.version) for v in found] == [(a, 1)]
    by_run = switchyard_client.search_model_versions(f"run_id = '{run_id}'")
    assert sorted((v.name, v.version) for v in by_run) == sorted([(a, 1), (b, 1)])
    newest_first = switchyard_client.search_model_versions(f"name = '{a}'")
    assert [v.version for v in newest_first] == [2, 1]  # MLflow's default order
    paths = switchyard_client.search_model_versions("source_path = 'file:///tmp/other'")
    assert (a, 2) in [(v.name, v.version) for v in paths]
    numbered = switchyard_client.search_model_versions(f"name = '{a}' and version_number >= 2")
    assert [v.version for v in numbered] == [2]
    page = switchyard_client.search_model_versions(f"name IN ('{a}', '{b}')", max_results=2)
    rest = switchyard_client.search_model_versions(
        f"name IN ('{a}', '{b}')", max_results=2, page_token=page.token
    )
    assert len(page) == 2 and len(rest) == 1 and rest.token == ""
    with pytest.raises(sy.errors.InvalidArgument) as exc:
        switchyard_client.search_model_versions("run_id = 'nothex'")
    assert exc.value.field == "filter"


def test_bad_input_is_refused_and_writes_nothing(
    switchyard_client: sy.Client, model: str, run: sy.Run, uniq: Callable[..., str]
) -> None:
    unknown_run = uuid.uuid4().hex
    cases: list[tuple[type[sy.errors.SwitchyardError], str | None, dict[str, object]]] = [
        (sy.errors.NotFound, "run_id", {"source": f"runs:/{unknown_run}/m"}),
        (sy.errors.NotFound, "run_id", {"source": "file:///m", "run_id": unknown_run}),
        (sy.errors.NotFound, "run_id", {"source": "file:///m", "run_id": "not-a-run"}),
        (
            sy.errors.InvalidArgument,
            "run_id",
            {"source": f"runs:/{run.info.run_id}/m", "run_id": unknown_run},
        ),
        (sy.errors.InvalidArgument, "source", {"source": ""}),
        (sy.errors.InvalidArgument, "source", {"source": "runs:/short/m"}),
        (sy.errors.InvalidArgument, "source", {"source": f"models:/{model}/1"}),
        (sy.errors.InvalidArgument, "tags.key", {"source": "file:///m", "tags": {"": "v"}}),
        (sy.errors.InvalidArgument, "flavor", {"source": "file:///m", "flavor": "Bad Flavor"}),
        (
            sy.errors.InvalidArgument,
            "content_digest",
            {"source": "file:///m", "content_digest": "md5"},
        ),
    ]
    for error, field, kwargs in cases:
        with pytest.raises(error) as exc:
            switchyard_client.create_model_version(model, **kwargs)  # type: ignore[arg-type]
        assert exc.value.field == field, kwargs
        if field == "run_id" and error is sy.errors.NotFound:
            assert "run '" in exc.value.message, exc.value.message
    with pytest.raises(sy.errors.NotFound) as missing:
        switchyard_client.create_model_version(uniq("missing"), "file:///m")
    assert missing.value.entity == "registered_model"
    with pytest.raises(sy.errors.NotFound):
        switchyard_client.get_model_version(model, 1)
    with pytest.raises(sy.errors.InvalidArgument) as zero:
        switchyard_client.get_model_version(model, 0)
    assert zero.value.field == "version"
    assert [e.action for e in switchyard_client.get_model_history(model)] == ["model.created"]
    assert switchyard_client.create_model_version(model, "file:///m").version == 1


def test_deleted_run_cannot_be_registered(switchyard_client: sy.Client, model: str) -> None:
    run_id = switchyard_client.create_run().info.run_id
    switchyard_client.delete_run(run_id)
    with pytest.raises(sy.errors.FailedPrecondition) as exc:
        switchyard_client.create_model_version(model, f"runs:/{run_id}/m")
    assert exc.value.field == "run_id"
