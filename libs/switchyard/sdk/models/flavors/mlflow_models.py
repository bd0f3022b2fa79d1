"""Models that MLflow wrote (`mlflow.<flavor>.log_model`), loaded by `sy.load_model`.

scikit-learn in skops format and PyTorch exported as `pt2` load as our own
models do, with skops' types checked; pickled ones run code from the file,
so they follow MLflow's switch: `MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false`
refuses them (MLflow's default allows them).
A `python_function`-only model (a custom `PythonModel`) needs MLflow itself
to rebuild it, and goes through `mlflow.pyfunc.load_model`.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from switchyard.errors import FailedPrecondition, InvalidArgument
from switchyard.sdk.models.flavors import Flavor, Predictor, pytorch
from switchyard.sdk.models.flavors import sklearn as ours

ALLOW_PICKLE = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"


def _never(model: Any) -> bool:
    return False


def _no_save(model: Any, folder: Path, example: Any) -> dict[str, Any]:
    raise InvalidArgument("MLflow-written flavors are for loading only", field="flavor")


def _no_requirements(config: dict[str, Any]) -> list[str]:
    return []


def _allow_pickle(path: Path) -> None:
    # MLflow's own switch and default (allowed unless set false), so a model loads
    # here exactly when MLflow's loader would load it.
    if os.environ.get(ALLOW_PICKLE, "true").strip().lower() in ("false", "0", "no"):
        raise FailedPrecondition(
            f"{path.name} is a pickle, which runs code from the file when loaded, and"
            f" {ALLOW_PICKLE} is false; set it to true if you trust where it came from",
            entity="model",
        )


def _load_sklearn(folder: Path, config: dict[str, Any]) -> tuple[Predictor, Any]:
    data = config.get("pickled_model", "model.pkl")
    fmt = config.get("serialization_format", "pickle")
    if fmt == "skops":
        return ours.FLAVOR.load(folder, {"format": "skops", "data": data})
    path = folder / data
    _allow_pickle(path)
    with path.open("rb") as f:
        if fmt == "cloudpickle":
            import cloudpickle

            model = cloudpickle.load(f)
        else:
            model = pickle.load(f)
    return model.predict, model


def _load_pytorch(folder: Path, config: dict[str, Any]) -> tuple[Predictor, Any]:
    import torch

    data = folder / config.get("model_data", "data")
    if (data / "model.pth").exists():
        _allow_pickle(data / "model.pth")
        module = torch.load(data / "model.pth", weights_only=False)
    else:
        module = torch.export.load(data / "model.pt2").module()
    return pytorch.predictor(module), module


def _load_pyfunc(folder: Path, config: dict[str, Any]) -> tuple[Predictor, Any]:
    try:
        import mlflow.pyfunc
    except ImportError:
        raise FailedPrecondition(
            "this is an MLflow python_function model, which only MLflow can rebuild:"
            " pip install mlflow-skinny",
            entity="model",
        ) from None
    model = mlflow.pyfunc.load_model(str(folder))
    return model.predict, model


SKLEARN = Flavor("mlflow.sklearn", _never, _no_save, _load_sklearn, _no_requirements)
PYTORCH = Flavor("mlflow.pytorch", _never, _no_save, _load_pytorch, _no_requirements)
PYFUNC = Flavor("mlflow.pyfunc", _never, _no_save, _load_pyfunc, _no_requirements)
