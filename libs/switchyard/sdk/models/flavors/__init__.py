"""Flavors: how each kind of model is saved to files and rebuilt from them.

A flavor saves a model into a folder and returns its settings for the
descriptor; `load` rebuilds a predictor (`x -> predictions`) from the folder
and those settings in another process, without the code that trained it.
Frameworks are imported only when a model of theirs is in hand.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchyard.errors import InvalidArgument

Predictor = Callable[[Any], Any]


@dataclass(frozen=True)
class Flavor:
    name: str
    accepts: Callable[[Any], bool]
    # (model, folder, input example) -> flavor settings for the descriptor
    save: Callable[[Any, Path, Any], dict[str, Any]]
    # (folder, flavor settings) -> (predictor, the rebuilt model object)
    load: Callable[[Path, dict[str, Any]], tuple[Predictor, Any]]
    # (flavor settings) -> pinned requirements
    requirements: Callable[[dict[str, Any]], list[str]]


def pin(*distributions: str) -> list[str]:
    """`name==version` for each installed distribution (skipping absent ones)."""
    pins = []
    for dist in distributions:
        try:
            pins.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return pins


def loaded(module: str) -> Any:
    """The module if the process already imported it (so checks never import frameworks)."""
    return sys.modules.get(module)


def _all() -> list[Flavor]:
    from switchyard.sdk.models.flavors import python_function, pytorch, sklearn

    # Most specific first: a torch module or an estimator is also callable.
    return [pytorch.FLAVOR, sklearn.FLAVOR, python_function.FLAVOR]


def for_model(model: Any, name: str | None = None) -> Flavor:
    """The flavor named, or the first that accepts the model."""
    flavors = _all()
    if name is not None:
        return by_name(name)
    for flavor in flavors:
        if flavor.accepts(model):
            return flavor
    raise InvalidArgument(
        f"cannot log a {type(model).__name__}: supported are scikit-learn estimators, torch"
        " modules, and Python callables or objects with .predict()",
        field="model",
    )


def by_name(name: str) -> Flavor:
    from switchyard.sdk.models.flavors import mlflow_models

    readable = (mlflow_models.SKLEARN, mlflow_models.PYTORCH, mlflow_models.PYFUNC)
    for flavor in (*_all(), *readable):
        if flavor.name == name:
            return flavor
    known = ", ".join(f.name for f in _all())
    raise InvalidArgument(f"unknown flavor {name!r}; one of {known}", field="flavor")
