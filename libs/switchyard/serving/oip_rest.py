"""The Open Inference Protocol over REST: JSON tensors and the binary tensor data extension.

Binary extension (as tritonclient.http speaks it): the body is a JSON header of
`Inference-Header-Content-Length` bytes followed by the raw tensors in input order; an input
with `parameters.binary_data_size = N` takes the next N bytes instead of `data`. Outputs asked
as binary (`outputs[].parameters.binary_data`, or the request's `binary_data_output`) come back
the same way, and `encode_infer` returns the JSON length for that header.

Imports json and numpy only (the gateway's hot path): one json.loads and one json.dumps per
request, numpy for the tensors.
"""

from __future__ import annotations

import json
from typing import Any

from switchyard.serving.oip_paths import error_body as error_body
from switchyard.serving.oip_paths import model_name_of as model_name_of
from switchyard.serving.tensors import (
    BadRequest,
    InferRequest,
    InferResponse,
    TensorSpec,
    datatype_of,
    from_bytes,
    select_outputs,
    to_array,
    to_bytes,
    to_list,
)

_dumps = json.JSONEncoder(separators=(",", ":")).encode  # ASCII: str length == byte length
_UNSUPPORTED = ("shared_memory_region", "classification")


def parse_infer(body: bytes, header_length: int | None) -> InferRequest:
    """An inference request body; `header_length` is Inference-Header-Content-Length."""
    if header_length is None:
        header, binary = body, memoryview(b"")
    else:
        if not 0 <= header_length <= len(body):
            raise BadRequest(
                f"Inference-Header-Content-Length {header_length} is outside the body "
                f"({len(body)} bytes)"
            )
        header, binary = body[:header_length], memoryview(body)[header_length:]
    try:
        doc = json.loads(header)
    except (ValueError, RecursionError) as exc:
        hint = (
            ""
            if header_length is not None
            else " (binary data needs Inference-Header-Content-Length)"
        )
        raise BadRequest(f"malformed JSON in the request: {exc}{hint}") from None
    if not isinstance(doc, dict):
        raise BadRequest("the request must be a JSON object")
    parameters = _object(doc.get("parameters"), "the request's 'parameters'")
    request_id = doc.get("id", "")
    if not isinstance(request_id, str):
        raise BadRequest("the request's 'id' must be a string")
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise BadRequest("the request has no 'inputs'")
    inputs = {}
    offset = 0
    for i, tensor in enumerate(raw_inputs):
        name = _name(tensor, f"inputs[{i}]")
        if name in inputs:
            raise BadRequest(f"input '{name}' appears twice")
        datatype, shape = tensor.get("datatype"), tensor.get("shape")
        if datatype is None:
            raise BadRequest(f"input '{name}' has no 'datatype'")
        if shape is None:
            raise BadRequest(f"input '{name}' has no 'shape'")
        params = _object(tensor.get("parameters"), f"input '{name}': 'parameters'")
        _check_supported(params, f"input '{name}'")
        size = params.get("binary_data_size")
        if size is not None:
            if type(size) is not int or size < 0:
                raise BadRequest(f"input '{name}': binary_data_size must be a non-negative integer")
            if offset + size > len(binary):
                raise BadRequest(
                    f"input '{name}': binary_data_size {size} overruns the body "
                    f"({len(binary) - offset} bytes of binary data left)"
                )
            inputs[name] = from_bytes(datatype, shape, binary[offset : offset + size], name=name)
            offset += size
        elif "data" in tensor:
            inputs[name] = to_array(datatype, shape, tensor["data"], name=name)
        else:
            raise BadRequest(f"input '{name}' has no 'data' and no binary_data_size")
    if offset != len(binary):
        raise BadRequest(f"{len(binary) - offset} bytes of binary data follow the inputs unclaimed")
    outputs, binary_outputs = _requested_outputs(doc.get("outputs"), parameters)
    return InferRequest(inputs, outputs, binary_outputs, parameters, request_id)


def _requested_outputs(raw: Any, parameters: dict[str, Any]) -> tuple[list[str], set[str]]:
    if raw is None:
        return [], set()
    if not isinstance(raw, list):
        raise BadRequest("the request's 'outputs' must be a list")
    default = parameters.get("binary_data_output") is True
    names: list[str] = []
    binary: set[str] = set()
    for j, tensor in enumerate(raw):
        name = _name(tensor, f"outputs[{j}]")
        params = _object(tensor.get("parameters"), f"output '{name}': 'parameters'")
        _check_supported(params, f"output '{name}'")
        if params.get("binary_data", default) is True:
            binary.add(name)
        names.append(name)
    return names, binary


def _name(tensor: Any, where: str) -> str:
    if not isinstance(tensor, dict):
        raise BadRequest(f"{where} must be an object")
    name = tensor.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{where} has no 'name'")
    return name


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be an object")
    return value


def _check_supported(params: dict[str, Any], what: str) -> None:
    for key in _UNSUPPORTED:
        if params.get(key):
            raise BadRequest(f"{what}: the {key} extension is not supported")


def encode_infer(response: InferResponse, request: InferRequest) -> tuple[bytes, int | None]:
    """The response body for `request`, and the JSON length when binary outputs follow it
    (the server sends it as Inference-Header-Content-Length)."""
    outputs = select_outputs(response.outputs, request.outputs)
    # No outputs named: binary_data_output (tritonclient's default) applies to all of them.
    all_binary = not request.outputs and request.parameters.get("binary_data_output") is True
    entries = []
    chunks: list[bytes] = []
    for name, array in outputs.items():
        entry: dict[str, Any] = {
            "name": name,
            "datatype": datatype_of(array),
            "shape": list(array.shape),
        }
        if all_binary or name in request.binary_outputs:
            raw = to_bytes(array)
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = to_list(array, name=name)
        entries.append(entry)
    doc: dict[str, Any] = {
        "model_name": response.model_name,
        "model_version": response.model_version,
        "id": response.id or request.id,
    }
    if response.parameters:
        doc["parameters"] = response.parameters
    doc["outputs"] = entries
    header = _dumps(doc).encode()
    if not chunks:
        return header, None
    return b"".join([header, *chunks]), len(header)


def encode_model_metadata(
    name: str,
    versions: list[str],
    platform: str,
    inputs: list[TensorSpec],
    outputs: list[TensorSpec],
) -> bytes:
    """The model metadata object."""
    return _dumps(
        {
            "name": name,
            "versions": versions,
            "platform": platform,
            "inputs": [_spec(s) for s in inputs],
            "outputs": [_spec(s) for s in outputs],
        }
    ).encode()


def _spec(spec: TensorSpec) -> dict[str, Any]:
    return {"name": spec.name, "datatype": spec.datatype, "shape": list(spec.shape)}
