"""MLflow's model layout, both ways.

Writing: the `flavors` of an `MLmodel` as MLflow's loaders read them, beside
our own settings, and the environment files MLflow expects (`conda.yaml`,
`python_env.yaml`). A scikit-learn model gets MLflow's own `sklearn` flavor
(skops or pickle, as saved) with `python_function` through `mlflow.sklearn`,
so `mlflow.sklearn.load_model` and `mlflow.pyfunc.load_model` need nothing
of ours; other models get `python_function` through this package's loader
(`switchyard.sdk.models.mlflow_pyfunc`), which their requirements pin.

Reading: an `MLmodel` that MLflow wrote (YAML, no `flavor` key of ours) is
described by the MLflow flavor we can rebuild it from (`mlflow_models.py`).
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from pathlib import Path
from typing import Any

from switchyard.errors import FailedPrecondition, InvalidArgument

CONDA = "conda.yaml"
PYTHON_ENV = "python_env.yaml"
PYFUNC_LOADER = "switchyard.sdk.models.mlflow_pyfunc"
# MLflow's flavors we load, most specific first, by the name of our flavor for them.
READABLE = (("sklearn", "mlflow.sklearn"), ("pytorch", "mlflow.pytorch"))


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def flavors_for(flavor: str, config: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The MLmodel's `flavors`: ours (with MLflow's keys where MLflow has the flavor)
    and `python_function`."""
    pyfunc: dict[str, Any] = {
        "env": {"conda": CONDA, "virtualenv": PYTHON_ENV},
        "python_version": platform.python_version(),
    }
    if flavor == "sklearn":
        return {
            "sklearn": {**config, **_sklearn(config, folder)},
            "python_function": {
                **pyfunc,
                "loader_module": "mlflow.sklearn",
                "model_path": config["data"],
                "predict_fn": "predict",
            },
        }
    return {flavor: config, "python_function": {**pyfunc, "loader_module": PYFUNC_LOADER}}


def _sklearn(config: dict[str, Any], folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {
        "pickled_model": config["data"],
        "serialization_format": config["format"],
        "sklearn_version": _version("scikit-learn"),
        "code": None,
    }
    if config["format"] == "skops":
        import skops.io

        # MLflow passes these to skops as the trusted types when it loads.
        out["skops_trusted_types"] = skops.io.get_untrusted_types(file=folder / config["data"])
    return out


def write_env_files(folder: Path, requirements: list[str]) -> None:
    python = platform.python_version()
    (folder / PYTHON_ENV).write_text(
        f"python: {python}\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n"
    )
    pins = "".join(f"  - {json.dumps(r)}\n" for r in requirements)
    (folder / CONDA).write_text(
        f"channels:\n- conda-forge\ndependencies:\n- python={python}\n- pip\n- pip:\n{pins}"
        "name: mlflow-env\n"
    )


def parse(text: str, where: Path) -> dict[str, Any]:
    """An MLmodel file: ours is JSON, MLflow's YAML (JSON is YAML too)."""
    try:
        raw = json.loads(text)
    except ValueError:
        try:
            import yaml
        except ImportError:
            raise FailedPrecondition(
                f"{where} was written by MLflow (YAML): pip install pyyaml (or"
                " 'switchyard[models]') to read it",
                entity="model",
            ) from None
        raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{where} is not an MLmodel file", field="model_uri")
    return raw


def describe_mlflow(raw: dict[str, Any]) -> dict[str, Any]:
    """Our descriptor's fields for an MLmodel MLflow wrote."""
    flavors = raw.get("flavors") or {}
    for theirs, ours in READABLE:
        if theirs in flavors:
            flavor, config = ours, dict(flavors[theirs])
            break
    else:
        if "python_function" not in flavors:
            raise FailedPrecondition(
                f"the model has flavors {sorted(flavors)}; Switchyard loads MLflow's"
                " sklearn, pytorch and python_function models",
                entity="model",
            )
        flavor, config = "mlflow.pyfunc", dict(flavors["python_function"])
    signature = raw.get("signature")
    return {
        "flavor": flavor,
        "flavor_config": config,
        "flavors": flavors,
        "artifact_path": raw.get("artifact_path") or "",
        "run_id": raw.get("run_id") or "",
        "model_uuid": raw.get("model_uuid") or "",
        "utc_time_created": str(raw.get("utc_time_created") or ""),
        "requirements": [],
        "content_digest": "",  # MLflow records none: there is nothing to check against
        "signature": signature if isinstance(signature, dict) else None,
        "python_version": (flavors.get("python_function") or {}).get("python_version", ""),
    }
