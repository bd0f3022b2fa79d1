"""What a replica serves: a registry model, its OIP inputs and outputs, and `predict`.

Inputs and outputs come from the model's signature, as MLServer maps them:
a tensor signature is one tensor (named by the spec, else "input-0"); a
column signature is one tensor per column, rebuilt into a pandas DataFrame
for the model. Without a signature the model takes one "input-0" of any
datatype, shape [-1, -1], and answers "predict" (scikit-learn, KServe's and
MLServer's name) or "output-0".
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from switchyard.serving.tensors import BadRequest, TensorSpec, check_inputs, datatype_of

log = logging.getLogger(__name__)

# MLflow's tensor dtypes (numpy names) and column types -> OIP datatypes.
_TENSOR_TYPES = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
    "object": "BYTES",
    "str": "BYTES",
    "bytes": "BYTES",
}
_COLUMN_TYPES = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}
_PLATFORMS = {"sklearn": "sklearn", "pytorch": "pytorch", "python_function": "python_function"}


@dataclass(frozen=True)
class _Schema:
    specs: list[TensorSpec]
    columns: bool  # one tensor per column of a DataFrame


def _schema(text: str, default_name: str) -> _Schema | None:
    if not text:
        return None
    raw = json.loads(text)
    if not isinstance(raw, list) or not raw:
        return None
    if all(item.get("type") == "tensor" for item in raw):
        # One tensor in, one out: what the flavors' predict(x) takes and gives.
        spec = raw[0].get("tensor-spec", {})
        dtype = str(spec.get("dtype", "")).removeprefix("torch.")
        shape = [int(d) for d in spec.get("shape", [-1])]
        name = raw[0].get("name") or default_name
        return _Schema([TensorSpec(name, _TENSOR_TYPES.get(dtype, "BYTES"), shape)], columns=False)
    specs = [
        TensorSpec(str(item.get("name", i)), _COLUMN_TYPES.get(item.get("type", ""), "BYTES"), [-1])
        for i, item in enumerate(raw)
    ]
    return _Schema(specs, columns=True)


class ServedModel:
    def __init__(self, pyfunc: Any, name: str = "") -> None:
        self._pyfunc = pyfunc
        self._predict = pyfunc.predict
        self.flavor: str = pyfunc.flavor
        self.platform = _PLATFORMS.get(self.flavor, self.flavor)
        version = pyfunc.model_version
        self.version = str(version.version) if version is not None else ""
        self.name = name or (version.name if version is not None else "")
        default_out = "predict" if self.flavor == "sklearn" else "output-0"
        signature = pyfunc.signature
        ins = _schema(signature.inputs, "input-0") if signature is not None else None
        outs = _schema(signature.outputs, default_out) if signature is not None else None
        self.has_signature = ins is not None
        self._columns = ins is not None and ins.columns
        self.inputs = ins.specs if ins is not None else [TensorSpec("input-0", "", [-1, -1])]
        self._out_columns = outs is not None and outs.columns
        self.outputs = outs.specs if outs is not None else [TensorSpec(default_out, "", [-1])]

    @classmethod
    def load(cls, model_uri: str, name: str = "") -> ServedModel:
        from switchyard.sdk.models.fluent import load_model

        return cls(load_model(model_uri), name)

    def check(self, inputs: dict[str, np.ndarray]) -> None:
        """The inputs against the signature (BadRequest when they do not fit)."""
        if self.has_signature:
            if self._columns:
                # A column may come as [n] (MLflow) or [n, 1] (MLServer's pandas codec).
                for name, array in list(inputs.items()):
                    if array.ndim == 2 and array.shape[1] == 1:
                        inputs[name] = array.reshape(-1)
            check_inputs(inputs, self.inputs)
            return
        if list(inputs) != ["input-0"]:
            raise BadRequest(f"the model takes one input, 'input-0'; got {list(inputs)}")
        array = inputs["input-0"]
        check_inputs(inputs, [TensorSpec("input-0", datatype_of(array), [-1, -1])])

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self._columns:
            import pandas as pd

            frame = pd.DataFrame({name: _column(array) for name, array in inputs.items()})
            result = self._predict(frame)
        else:
            result = self._predict(next(iter(inputs.values())))
        return self._outputs(result)

    def _outputs(self, result: Any) -> dict[str, np.ndarray]:
        if hasattr(result, "columns") and hasattr(result, "to_numpy"):  # a DataFrame
            if self._out_columns:
                return {str(c): _array(result[c].to_numpy()) for c in result.columns}
            result = result.to_numpy()
        if isinstance(result, dict):
            return {str(k): _array(v) for k, v in result.items()}
        return {self.outputs[0].name: _array(result)}


def _column(array: np.ndarray) -> Any:
    if array.dtype == object:
        return [v.decode() if isinstance(v, bytes) else v for v in array.reshape(-1)]
    return array.reshape(-1)


def _array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.kind == "U":
        array = array.astype(object)
    return array
