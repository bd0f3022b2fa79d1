"""The `python_function` loader MLflow calls for models `sy.log_model` saved.

`mlflow.pyfunc.load_model` imports the `loader_module` an MLmodel names and
calls its `_load_pyfunc(path)`; for Python-function and PyTorch models ours
is this module, so MLflow rebuilds them the way `sy.load_model` does (digest
checked first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class _Model:
    def __init__(self, path: str) -> None:
        from switchyard.sdk.models import packaging

        self.loaded = packaging.load(Path(path))

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return self.loaded.predict(model_input)

    def get_raw_model(self) -> Any:
        return self.loaded.model


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> _Model:
    return _Model(path)
