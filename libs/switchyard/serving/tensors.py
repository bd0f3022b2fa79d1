"""Tensors of the Open Inference Protocol (KServe v2 / Triton): datatypes, requests, checks.

Shared by the REST codec (`oip_rest`), the gRPC codec (`oip_grpc`), the replica and the
gateway. Imports numpy only: the gateway's hot path imports this module.

Errors: `BadRequest` (HTTP 400 / INVALID_ARGUMENT) names the offending input;
`NotFoundError` (HTTP 404 / NOT_FOUND) is for an unknown model or version.
"""

from __future__ import annotations

import math
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class BadRequest(Exception):
    """The request is malformed or does not fit the model: HTTP 400, gRPC INVALID_ARGUMENT."""


class NotFoundError(Exception):
    """Unknown model or version: HTTP 404, gRPC NOT_FOUND."""


# Wire datatypes -> numpy dtypes, little-endian as both protocols send them.
DATATYPES: dict[str, np.dtype | None] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
    "BYTES": np.dtype(object),  # elements are `bytes`
}

_BY_KIND_SIZE = {
    (np.dtype(t).kind, np.dtype(t).itemsize): name
    for name, t in DATATYPES.items()
    if name not in ("BYTES",)
}
_LENGTH = struct.Struct("<I")


@dataclass
class TensorSpec:
    name: str
    datatype: str
    shape: list[int]  # -1 = any size


@dataclass
class InferRequest:
    inputs: dict[str, np.ndarray]  # in request order
    outputs: list[str]  # requested output names; [] = all
    binary_outputs: set[str]  # REST: outputs asked as binary_data
    parameters: dict[str, Any]
    id: str = ""


@dataclass
class InferResponse:
    model_name: str
    model_version: str
    outputs: dict[str, np.ndarray]
    id: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


def datatype_of(array: np.ndarray) -> str:
    """The OIP datatype of an array; strings and objects are BYTES."""
    dt = array.dtype
    if dt.kind in "OSU":
        return "BYTES"
    name = _BY_KIND_SIZE.get((dt.kind, dt.itemsize))
    if name is None:
        raise TypeError(f"numpy dtype {dt} has no Open Inference Protocol datatype")
    return name


def dtype_of(datatype: str, *, name: str) -> np.dtype:
    """The numpy dtype of a wire datatype; unknown ones are a BadRequest naming the tensor."""
    dt = DATATYPES.get(datatype) if isinstance(datatype, str) else None
    if dt is None:
        if datatype == "BF16":
            raise BadRequest(f"input '{name}': datatype BF16 is not supported; send FP32 or FP16")
        raise BadRequest(
            f"input '{name}': unknown datatype {datatype!r}; expected one of {', '.join(DATATYPES)}"
        )
    return dt


def check_shape(shape: Any, *, name: str) -> tuple[int, ...]:
    """A validated shape: a list of non-negative integers."""
    if not isinstance(shape, list | tuple) or not all(type(d) is int and d >= 0 for d in shape):
        raise BadRequest(f"input '{name}': shape must be a list of non-negative integers")
    return tuple(shape)


def to_array(datatype: str, shape: list[int], data: Any, *, name: str) -> np.ndarray:
    """JSON tensor data (flat or nested, row-major) as an array of `shape`."""
    dt = dtype_of(datatype, name=name)
    dims = check_shape(shape, name=name)
    if not isinstance(data, list):
        raise BadRequest(f"input '{name}': 'data' must be a list")
    try:
        if datatype == "BYTES":
            array = _bytes_array(np.asarray(data, dtype=object).ravel(), name)
        else:
            # numpy 2 refuses an out-of-range integer; numpy 1 warns and wraps it:
            # the warning is the same refusal.
            with warnings.catch_warnings():
                warnings.simplefilter("error", DeprecationWarning)
                array = np.asarray(data, dtype=dt)
    except (ValueError, TypeError, OverflowError, DeprecationWarning) as exc:
        raise BadRequest(f"input '{name}': data is not valid {datatype}: {exc}") from None
    count = math.prod(dims)
    if array.size != count:
        raise BadRequest(
            f"input '{name}': {array.size} elements do not match shape {list(dims)} "
            f"({count} elements)"
        )
    return array.reshape(dims)


def _bytes_array(flat: np.ndarray, name: str) -> np.ndarray:
    out = np.empty(flat.size, dtype=object)
    for i, item in enumerate(flat.tolist()):
        if isinstance(item, str):
            out[i] = item.encode()
        elif isinstance(item, bytes):
            out[i] = item
        else:
            raise BadRequest(f"input '{name}': BYTES elements must be strings, got {item!r}")
    return out


def from_bytes(
    datatype: str, shape: list[int], buffer: bytes | memoryview, *, name: str
) -> np.ndarray:
    """A tensor from its binary form (binary extension / raw contents): little-endian,
    row-major; BOOL one byte each; BYTES elements each a 4-byte length and the bytes."""
    dt = dtype_of(datatype, name=name)
    dims = check_shape(shape, name=name)
    count = math.prod(dims)
    if datatype == "BYTES":
        return _parse_bytes(buffer, count, name).reshape(dims)
    if len(buffer) != count * dt.itemsize:
        raise BadRequest(
            f"input '{name}': {len(buffer)} bytes do not match shape {list(dims)} of "
            f"{datatype} ({count * dt.itemsize} bytes)"
        )
    # A copy: the model gets an aligned, writable array that does not pin the request body.
    return np.frombuffer(buffer, dtype=dt, count=count).reshape(dims).copy()


def _parse_bytes(buffer: bytes | memoryview, count: int, name: str) -> np.ndarray:
    view = memoryview(buffer)
    size = len(view)
    out = np.empty(count, dtype=object)
    offset = 0
    for i in range(count):
        if offset + 4 > size:
            raise BadRequest(f"input '{name}': BYTES data ends before element {i} of {count}")
        (length,) = _LENGTH.unpack_from(view, offset)
        offset += 4
        if offset + length > size:
            raise BadRequest(f"input '{name}': BYTES element {i} overruns the data")
        out[i] = bytes(view[offset : offset + length])
        offset += length
    if offset != size:
        raise BadRequest(f"input '{name}': {size - offset} bytes left after {count} BYTES elements")
    return out


def to_bytes(array: np.ndarray) -> bytes:
    """The binary form of an array (see `from_bytes`); str elements are UTF-8 encoded."""
    if array.dtype.kind in "OSU":
        parts = []
        for item in array.ravel().tolist():
            raw = item if isinstance(item, bytes) else str(item).encode()
            parts.append(_LENGTH.pack(len(raw)))
            parts.append(raw)
        return b"".join(parts)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return array.tobytes()  # C order whatever the array's layout


def to_list(array: np.ndarray, *, name: str) -> list[Any]:
    """Flat JSON data of an array; BYTES as UTF-8 strings."""
    flat = array.ravel().tolist()
    if array.dtype.kind in "OS":
        try:
            return [x.decode() if isinstance(x, bytes) else str(x) for x in flat]
        except UnicodeDecodeError:
            raise BadRequest(
                f"output '{name}' holds non-UTF-8 bytes; request it with binary_data"
            ) from None
    return flat


def select_outputs(outputs: dict[str, np.ndarray], requested: list[str]) -> dict[str, np.ndarray]:
    """The requested outputs in request order (all when none were named)."""
    if not requested:
        return outputs
    selected = {}
    for name in requested:
        if name not in outputs:
            raise BadRequest(
                f"unknown output '{name}'; the model returns {', '.join(map(repr, outputs))}"
            )
        selected[name] = outputs[name]
    return selected


def check_inputs(inputs: dict[str, np.ndarray], specs: list[TensorSpec]) -> None:
    """Inputs against the model's signature (no check when it has none)."""
    if not specs:
        return
    by_name = {s.name: s for s in specs}
    for name in inputs:
        if name not in by_name:
            raise BadRequest(
                f"unknown input '{name}'; the model takes {', '.join(map(repr, by_name))}"
            )
    for spec in specs:
        array = inputs.get(spec.name)
        if array is None:
            raise BadRequest(f"missing input '{spec.name}'")
        datatype = datatype_of(array)
        if datatype != spec.datatype:
            raise BadRequest(
                f"input '{spec.name}': datatype {datatype} does not match the model's "
                f"{spec.datatype}"
            )
        if len(array.shape) != len(spec.shape) or any(
            want not in (-1, got) for want, got in zip(spec.shape, array.shape, strict=True)
        ):
            raise BadRequest(
                f"input '{spec.name}': shape {list(array.shape)} does not match the model's "
                f"{spec.shape}"
            )
