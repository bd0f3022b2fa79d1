"""Models cross between the two clients, both ways, through the web edge:
what `sy.log_model` saved loads with `mlflow.sklearn` / `mlflow.pytorch` /
`mlflow.pyfunc`, and what MLflow's `log_model` saved loads with
`sy.load_model`; the predictions are equal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from conftest import require_module

import switchyard as sy
from switchyard.testing.platform import LocalPlatform

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning", "ignore::FutureWarning", "ignore::DeprecationWarning"
)
mlflow = require_module("mlflow", "the test extra pins mlflow-skinny")
linear_model = require_module("sklearn.linear_model", "the `models` extra has it")

X = np.random.default_rng(3).random((30, 4)).astype(np.float32)
Y = (X[:, 0] > X[:, 1]).astype(int)


def doubled_sum(x: Any) -> Any:
    """A plain Python model (saved by value)."""
    return np.asarray(x).sum(axis=1) * 2.0


def _scaler() -> Any:
    """A custom MLflow PythonModel (made here: importing mlflow.pyfunc warns, which
    only the tests' own warning filter allows)."""

    class Scaler(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        # No type hints: MLflow reads them as the input schema.
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return np.asarray(model_input).sum(axis=1) * 3.0

    return Scaler()


@pytest.fixture
def web(
    switchyard_platform: LocalPlatform, switchyard_fluent: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    url = switchyard_platform.endpoints.http["web"]
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    yield url
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def _torch_net() -> Any:
    torch = require_module("torch", "the test extra has the CPU build")
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))


def test_sy_models_load_in_mlflow(
    web: str, monkeypatch: pytest.MonkeyPatch, uniq: Callable[..., str]
) -> None:
    clf = linear_model.LogisticRegression().fit(X, Y)
    with sy.start_run() as run:
        sy.log_model(clf, "clf", input_example=X[:2])
        sy.log_model(doubled_sum, "fn")
    base = f"runs:/{run.info.run_id}"
    monkeypatch.delenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", raising=False)  # its default
    again = mlflow.sklearn.load_model(f"{base}/clf")
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    pyfunc = mlflow.pyfunc.load_model(f"{base}/clf")
    np.testing.assert_array_equal(pyfunc.predict(X), clf.predict(X))
    assert pyfunc.metadata.signature is not None  # from the input example

    fn = mlflow.pyfunc.load_model(f"{base}/fn")
    np.testing.assert_allclose(fn.predict(X), doubled_sum(X))


def test_sy_torch_model_loads_in_mlflow(web: str) -> None:
    torch = require_module("torch", "the test extra has the CPU build")
    net = _torch_net()
    with sy.start_run() as run:
        sy.log_model(net, "net", input_example=X[:2])
    with torch.no_grad():
        expected = net(torch.as_tensor(X)).numpy()
    uri = f"runs:/{run.info.run_id}/net"
    module = mlflow.pytorch.load_model(uri)  # the exported program: no pickle
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.as_tensor(X)).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(mlflow.pyfunc.load_model(uri).predict(X), expected, rtol=1e-6)


def test_mlflow_models_load_in_sy(
    web: str, monkeypatch: pytest.MonkeyPatch, uniq: Callable[..., str]
) -> None:
    clf = linear_model.LogisticRegression().fit(X, Y)
    names = {kind: uniq(kind) for kind in ("skops", "pickle", "pyfunc")}
    mlflow.set_experiment(uniq("exp"))
    with mlflow.start_run():
        mlflow.sklearn.log_model(clf, name="skops", registered_model_name=names["skops"])
        mlflow.sklearn.log_model(
            clf,
            name="pickle",
            registered_model_name=names["pickle"],
            serialization_format="pickle",
        )
        mlflow.pyfunc.log_model(
            name="pyfunc", python_model=_scaler(), registered_model_name=names["pyfunc"]
        )

    loaded = sy.load_model(f"models:/{names['skops']}/1")  # skops: its types checked
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))

    # A pickle runs code when loaded: MLflow's switch turns it off here too.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    with pytest.raises(sy.errors.FailedPrecondition, match="MLFLOW_ALLOW_PICKLE_DESERIALIZATION"):
        sy.load_model(f"models:/{names['pickle']}/1")
    monkeypatch.delenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION")  # MLflow's default: allowed
    pickled = sy.load_model(f"models:/{names['pickle']}/1")
    np.testing.assert_array_equal(pickled.predict(X), clf.predict(X))

    custom = sy.load_model(f"models:/{names['pyfunc']}/1")  # through mlflow.pyfunc
    np.testing.assert_allclose(np.asarray(custom.predict(X)), X.sum(axis=1) * 3.0, rtol=1e-6)


def test_mlflow_torch_model_loads_in_sy(web: str, uniq: Callable[..., str]) -> None:
    torch = require_module("torch", "the test extra has the CPU build")
    net = _torch_net()
    name = uniq("torch")
    mlflow.set_experiment(uniq("exp"))
    with mlflow.start_run():
        mlflow.pytorch.log_model(net, name="net", input_example=X[:2], registered_model_name=name)
    with torch.no_grad():
        expected = net(torch.as_tensor(X)).numpy()
    loaded = sy.load_model(f"models:/{name}/1")  # pt2, MLflow's default: no pickle
    np.testing.assert_allclose(loaded.predict(X), expected, rtol=1e-6)
