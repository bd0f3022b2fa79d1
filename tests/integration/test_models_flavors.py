"""log_model -> register -> load_model round trips, per flavor, in this process and another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import require_module

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.sdk import fluent

X = np.random.default_rng(7).random((40, 4))
Y = (X[:, 0] + X[:, 1] > 1).astype(int)


def score(x: Any) -> Any:
    """A plain Python model: defined here, so it is saved by value."""
    return np.asarray(x).sum(axis=1) * 2.0 + OFFSET


OFFSET = 0.5


class Thresholder:
    """An object with .predict, also saved by value."""

    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict(self, x: Any) -> Any:
        return (np.asarray(x)[:, 0] > self.cut).astype(int)


def _sklearn_model() -> Any:
    linear_model = require_module("sklearn.linear_model", "the `models` extra has it")
    return linear_model.LogisticRegression().fit(X, Y)


def _torch_model() -> Any:
    torch = require_module("torch", "pip install torch, or the `torch` extra")
    torch.manual_seed(0)

    class Net(torch.nn.Module):  # local: a loader cannot import it, export must carry it
        def __init__(self) -> None:
            super().__init__()
            self.hidden = torch.nn.Linear(4, 8)
            self.out = torch.nn.Linear(8, 2)

        def forward(self, x: Any) -> Any:
            return self.out(torch.relu(self.hidden(x)))

    return Net()


def test_sklearn_round_trip(
    switchyard_fluent: None, switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    clf = _sklearn_model()
    name = uniq()
    with sy.start_run() as run:
        info = sy.log_model(clf, "model", registered_model_name=name, input_example=X[:3])
    assert isinstance(info, sy.ModelInfo)
    assert info.model_uri == f"runs:/{run.info.run_id}/model" and info.flavor == "sklearn"
    assert info.registered_model_version == 1
    assert any(r.startswith("scikit-learn==") for r in info.requirements)
    assert info.signature is not None and '"shape": [-1, 4]' in info.signature.inputs
    version = switchyard_client.get_model_version(name, 1)
    assert version.flavor == "sklearn" and version.content_digest == info.content_digest
    assert version.signature == info.signature and version.run_id == run.info.run_id
    files = {f.path for f in switchyard_client.list_artifacts(run.info.run_id, "model")}
    assert {"model/MLmodel", "model/requirements.txt", "model/input_example.json"} <= files

    switchyard_client.set_registered_model_alias(name, "champion", 1)
    expected = clf.predict(X)
    for uri in (f"models:/{name}@champion", f"models:/{name}/1", info.model_uri):
        loaded = sy.load_model(uri)
        assert loaded.flavor == "sklearn"
        np.testing.assert_array_equal(loaded.predict(X), expected)


def test_pytorch_round_trip(switchyard_fluent: None, uniq: Callable[..., str]) -> None:
    torch = require_module("torch", "pip install torch, or the `torch` extra")
    net = _torch_model()
    name = uniq()
    with sy.start_run():
        info = sy.log_model(net, "net", registered_model_name=name, input_example=X[:1])
        with pytest.raises(sy.errors.InvalidArgument) as exc:
            sy.log_model(net, "no-example")
        assert exc.value.field == "input_example"
        with pytest.raises(sy.errors.AlreadyExists) as taken:
            sy.log_model(net, "net", input_example=X[:1])
        assert taken.value.field == "artifact_path"
    assert info.flavor == "pytorch"
    with torch.no_grad():
        expected = net(torch.as_tensor(X, dtype=torch.float32)).numpy()
    loaded = sy.load_model(f"models:/{name}/latest")
    np.testing.assert_allclose(loaded.predict(X), expected, rtol=1e-6)
    as_tensor = loaded.predict(torch.as_tensor(X[:1], dtype=torch.float32))
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.shape == (1, 2)


def test_callable_round_trip_and_register_model(
    switchyard_fluent: None, switchyard_client: sy.Client, uniq: Callable[..., str]
) -> None:
    name = uniq()
    with sy.start_run():
        info = sy.log_model(score, "fn", input_example=X[:2])
        obj = sy.log_model(Thresholder(0.5), "obj")
    assert info.flavor == "python_function" and info.registered_model_version is None
    version = sy.register_model(info.model_uri, name)
    assert isinstance(version, sy.ModelVersion)
    assert (version.name, version.version, version.source) == (name, 1, info.model_uri)
    assert version.flavor == "python_function" and version.content_digest == info.content_digest
    second = sy.register_model(obj.model_uri, name, tags={"kind": "object"})
    assert second.version == 2 and second.tags == {"kind": "object"}
    np.testing.assert_allclose(sy.load_model(f"models:/{name}/1").predict(X), score(X))
    np.testing.assert_array_equal(
        sy.load_model(f"models:/{name}/2").predict(X), Thresholder(0.5).predict(X)
    )


def test_tampered_files_are_refused(
    switchyard_fluent: None, switchyard_client: sy.Client, tmp_path: Path, uniq: Callable[..., str]
) -> None:
    name = uniq()
    with sy.start_run() as run:
        sy.log_model(score, "fn", registered_model_name=name)
    version = switchyard_client.get_model_version(name, 1)
    folder = Path(version.storage_location.removeprefix("file://"))
    (folder / "python_model.pkl").write_bytes(b"not what was registered")
    with pytest.raises(sy.errors.FailedPrecondition, match="digest"):
        sy.load_model(f"models:/{name}/1")
    with pytest.raises(sy.errors.NotFound):
        sy.load_model(f"runs:/{run.info.run_id}/missing")
    with pytest.raises(sy.errors.InvalidArgument) as exc:
        sy.load_model("models:/only-a-name")
    assert exc.value.field == "model_uri"


_LOADER = """
import json, sys
import numpy as np
import switchyard as sy
from switchyard.core.config import Settings
from switchyard.sdk import fluent
fluent.reset(Settings(home=sys.argv[1]))
x = np.asarray(json.loads(sys.argv[2]))
out = {}
for uri in sys.argv[3:]:
    model = sy.load_model(uri)
    out[uri] = np.asarray(model.predict(x)).tolist()
print(json.dumps(out))
"""


def test_models_load_in_a_fresh_process(
    switchyard_fluent: None,
    switchyard_client: sy.Client,
    switchyard_settings: Settings,
    uniq: Callable[..., str],
) -> None:
    """Another interpreter, without this test module, rebuilds each flavor."""
    expected: dict[str, Any] = {}
    models: list[tuple[Any, Any]] = [(score, None), (_sklearn_model(), None)]
    try:
        models.append((_torch_model(), X[:2]))
    except pytest.skip.Exception:
        pass
    with sy.start_run():
        for i, (model, example) in enumerate(models):
            name = uniq()
            sy.log_model(model, f"m{i}", registered_model_name=name, input_example=example)
            switchyard_client.set_registered_model_alias(name, "champion", 1)
            uri = f"models:/{name}@champion"
            expected[uri] = np.asarray(sy.load_model(uri).predict(X)).tolist()
            assert i == 0 or expected[uri]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _LOADER,
            str(switchyard_settings.home),
            json.dumps(X.tolist()),
            *expected,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=fluent.__file__.rsplit("/", 1)[0],  # away from the tests folder
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(got) == set(expected)
    for uri, values in expected.items():
        np.testing.assert_allclose(np.asarray(got[uri]), np.asarray(values), rtol=1e-6)
