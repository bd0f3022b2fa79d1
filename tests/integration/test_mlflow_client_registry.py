"""The real `mlflow` client's model registry and MLflow 3 logged models, against the web edge."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
from conftest import require_module

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.testing.platform import LocalPlatform

# The MLflow client warns about its own deprecations (stages, type hints); not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning", "ignore::FutureWarning", "ignore::DeprecationWarning"
)
mlflow = require_module("mlflow", "the test extra pins mlflow-skinny")
require_module("sklearn", "the test extra has scikit-learn")
from mlflow import MlflowClient  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402


@pytest.fixture
def client(
    switchyard_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MlflowClient]:
    url = switchyard_platform.endpoints.http["web"]
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    yield MlflowClient(url, url)
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def test_log_model_register_alias_load(
    client: MlflowClient, switchyard_settings: Settings, uniq: Callable[..., str]
) -> None:
    name = uniq()
    mlflow.set_experiment(uniq("exp"))
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    y = np.array([0, 1, 0, 1])
    model = LogisticRegression().fit(X, y)
    with mlflow.start_run() as run:
        mlflow.log_metric("acc", 1.0)
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name=name, serialization_format="pickle"
        )
    assert str(info.registered_model_version) == "1"
    assert info.model_id.startswith("m-")
    logged = client.get_logged_model(info.model_id)
    assert logged.status == "READY" and logged.source_run_id == run.info.run_id
    assert logged.name == "model"
    found = client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string="name = 'model'"
    )
    assert [m.model_id for m in found] == [info.model_id]

    client.set_registered_model_alias(name, "champion", "1")
    version = client.get_model_version_by_alias(name, "champion")
    assert version.version == "1" and version.run_id == run.info.run_id
    assert version.status == "READY"
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert list(loaded.predict(X)) == list(model.predict(X))
    again = mlflow.sklearn.load_model(f"models:/{name}/1")
    assert list(again.predict(X)) == list(model.predict(X))

    # the same version through the Switchyard SDK
    with sy.Client(settings=switchyard_settings) as sdk:
        assert sdk.get_model_version_by_alias(name, "champion").version == 1

    client.transition_model_version_stage(name, "1", "Staging")
    assert client.get_model_version(name, "1").current_stage == "Staging"
    latest = client.get_latest_versions(name, stages=["Staging"])
    assert [v.version for v in latest] == ["1"]
    versions = client.search_model_versions(f"name = '{name}'")
    assert [v.version for v in versions] == ["1"]
    client.delete_registered_model_alias(name, "champion")
    assert client.get_registered_model(name).aliases == {}


def test_registry_crud(client: MlflowClient, uniq: Callable[..., str]) -> None:
    name = uniq()
    client.create_registered_model(name, tags={"team": "risk"}, description="d")
    run = client.create_run(client.create_experiment(uniq("exp")))
    mv = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    assert mv.version == "1" and mv.status == "READY"
    client.update_model_version(name, "1", description="first")
    client.set_model_version_tag(name, "1", "k", "v")
    got = client.get_model_version(name, "1")
    assert got.description == "first" and got.tags == {"k": "v"}
    client.delete_model_version_tag(name, "1", "k")
    client.set_registered_model_tag(name, "x", "y")
    client.delete_registered_model_tag(name, "team")
    client.update_registered_model(name, description="new")
    model = client.get_registered_model(name)
    assert model.tags == {"x": "y"} and model.description == "new"
    uri = client.get_model_version_download_uri(name, "1")
    assert uri.endswith(f"{run.info.run_id}/artifacts/model")
    client.rename_registered_model(name, name + "-b")
    assert [m.name for m in client.search_registered_models(f"name = '{name}-b'")] == [name + "-b"]
    client.delete_model_version(name + "-b", "1")
    client.delete_registered_model(name + "-b")
    with pytest.raises(mlflow.exceptions.RestException) as exc:
        client.get_registered_model(name + "-b")
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"
