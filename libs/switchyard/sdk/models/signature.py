"""Model signatures: what goes in and what comes out, in MLflow's JSON format.

`infer(example, output)` reads the shape and types of an input example and
of what the model returned for it: arrays and tensors become tensor specs
(`{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}`,
the batch dimension left open), data frames become one column spec each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from switchyard.errors import InvalidArgument
from switchyard.sdk.registry_entities import ModelSignature

_PANDAS_TYPES = {"i": "long", "u": "long", "f": "double", "b": "boolean", "O": "string"}


def _spec(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if hasattr(value, "columns") and hasattr(value, "dtypes"):  # a pandas DataFrame
        return [
            {"name": str(c), "type": _PANDAS_TYPES.get(getattr(t, "kind", "O"), "string")}
            for c, t in zip(value.columns, value.dtypes, strict=True)
        ]
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is None or dtype is None:
        return None
    dims = [-1, *(int(d) for d in tuple(shape)[1:])] if len(shape) else []
    name = str(dtype).removeprefix("torch.")
    return [{"type": "tensor", "tensor-spec": {"dtype": name, "shape": dims}}]


def infer(example: Any, output: Any) -> ModelSignature | None:
    """The signature an input example and the model's answer to it imply, if any."""
    inputs, outputs = _spec(example), _spec(output)
    if inputs is None and outputs is None:
        return None
    return ModelSignature(
        json.dumps(inputs) if inputs is not None else "",
        json.dumps(outputs) if outputs is not None else "",
    )


def coerce(value: Any) -> ModelSignature | None:
    """Accept our ModelSignature, a dict, or anything with MLflow's `to_dict()`."""
    if value is None or isinstance(value, ModelSignature):
        return value
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, Mapping):
        return ModelSignature.from_dict(dict(value))
    raise InvalidArgument(
        f"signature must be a ModelSignature or a dict with 'inputs' and 'outputs', not"
        f" {type(value).__name__}",
        field="signature",
    )
