"""Plain Python: a callable `f(x)` or any object with `.predict(x)`.

Saved with cloudpickle when installed; code defined outside installed
packages (a script, a notebook, a test module) is pickled by value, so the
loading process needs neither the file nor the class, only the libraries it
imports. Without cloudpickle, pickle stores module-level functions by name.
"""

from __future__ import annotations

import pickle
import sys
import sysconfig
from pathlib import Path
from types import ModuleType
from typing import Any

from switchyard.errors import FailedPrecondition
from switchyard.sdk.models.flavors import Flavor, Predictor, pin

DATA = "python_model.pkl"


def _accepts(model: Any) -> bool:
    return callable(model) or callable(getattr(model, "predict", None))


def _cloudpickle() -> Any:
    try:
        import cloudpickle
    except ImportError:
        return None
    return cloudpickle


def _defining_module(model: Any) -> ModuleType | None:
    name = getattr(model, "__module__", None) or type(model).__module__
    module = sys.modules.get(name)
    if module is None or name == "__main__":
        return None  # cloudpickle already pickles __main__ by value
    path = getattr(module, "__file__", None)
    installed = {sysconfig.get_path(p) for p in ("stdlib", "platstdlib", "purelib", "platlib")}
    if path is None or any(path.startswith(root) for root in installed if root):
        return None
    return module


def _save(model: Any, folder: Path, example: Any) -> dict[str, Any]:
    cloudpickle = _cloudpickle()
    with (folder / DATA).open("wb") as f:
        if cloudpickle is None:
            pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
            return {"format": "pickle", "data": DATA}
        module = _defining_module(model)
        if module is not None:
            cloudpickle.register_pickle_by_value(module)
        try:
            cloudpickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            if module is not None:
                cloudpickle.unregister_pickle_by_value(module)
    return {"format": "cloudpickle", "data": DATA}


def _load(folder: Path, config: dict[str, Any]) -> tuple[Predictor, Any]:
    if config["format"] == "cloudpickle" and _cloudpickle() is None:
        raise FailedPrecondition(
            "this model was saved with cloudpickle: pip install cloudpickle", entity="model"
        )
    with (folder / config["data"]).open("rb") as f:
        model = pickle.load(f)  # the folder's digest was checked before this
    predict = getattr(model, "predict", None)
    return (predict if callable(predict) else model), model


def _requirements(config: dict[str, Any]) -> list[str]:
    # switchyard: MLflow's python_function loader for these models is ours
    extra = ("cloudpickle",) if config.get("format") == "cloudpickle" else ()
    return pin("switchyard", *extra)


FLAVOR = Flavor("python_function", _accepts, _save, _load, _requirements)
