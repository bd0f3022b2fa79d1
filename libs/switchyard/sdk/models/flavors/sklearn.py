"""scikit-learn: skops' safe format when installed, else pickle (digest-checked).

Loading a skops file trusts only types from scikit-learn, NumPy and SciPy
(and builtins); anything else in the file is refused by name, where pickle
would have run it.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from switchyard.errors import FailedPrecondition
from switchyard.sdk.models.flavors import Flavor, Predictor, loaded, pin

TRUSTED_MODULES = ("sklearn", "numpy", "scipy", "builtins", "collections", "skops")


def _accepts(model: Any) -> bool:
    base = loaded("sklearn.base")
    return base is not None and isinstance(model, base.BaseEstimator)


def _skops() -> Any:
    try:
        import skops.io
    except ImportError:
        return None
    return skops.io


def _save(model: Any, folder: Path, example: Any) -> dict[str, Any]:
    skops_io = _skops()
    if skops_io is not None:
        skops_io.dump(model, folder / "model.skops")
        return {"format": "skops", "data": "model.skops"}
    with (folder / "model.pkl").open("wb") as f:
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
    return {"format": "pickle", "data": "model.pkl"}


def _load(folder: Path, config: dict[str, Any]) -> tuple[Predictor, Any]:
    path = folder / config["data"]
    if config["format"] == "skops":
        skops_io = _skops()
        if skops_io is None:
            raise FailedPrecondition(
                "this model was saved with skops: pip install skops", entity="model"
            )
        untrusted = skops_io.get_untrusted_types(file=path)
        refused = [t for t in untrusted if t.split(".")[0] not in TRUSTED_MODULES]
        if refused:
            raise FailedPrecondition(
                f"the model file holds types outside scikit-learn/NumPy/SciPy: {refused}",
                entity="model",
            )
        model = skops_io.load(path, trusted=untrusted)
    else:
        with path.open("rb") as f:
            model = pickle.load(f)  # the folder's digest was checked before this
    return model.predict, model


def _requirements(config: dict[str, Any]) -> list[str]:
    extra = ("skops",) if config.get("format") == "skops" else ()
    return pin("scikit-learn", "numpy", "scipy", *extra)


FLAVOR = Flavor("sklearn", _accepts, _save, _load, _requirements)
