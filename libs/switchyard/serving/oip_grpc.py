"""The Open Inference Protocol over gRPC: `inference.GRPCInferenceService` by hand.

The messages are switchyard.v1's copies of KServe's (same field numbers, another proto
package, so they never clash with tritonclient's in one descriptor pool); the service is
registered and called under its wire name with generic handlers instead of generated stubs.
Tensors travel as `raw_input_contents` / `raw_output_contents` (one entry per tensor, in
order, the binary form of `tensors.to_bytes`) or in the typed `InferTensorContents` field of
their datatype. FP16 has no typed field: it is always raw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from switchyard.proto.v1 import inference_pb2 as pb
from switchyard.serving.oip_service import SERVICE as SERVICE
from switchyard.serving.oip_service import InferenceStub as InferenceStub
from switchyard.serving.oip_service import add_inference_service as add_inference_service
from switchyard.serving.oip_service import (
    add_raw_inference_service as add_raw_inference_service,
)
from switchyard.serving.tensors import (
    BadRequest,
    InferRequest,
    InferResponse,
    TensorSpec,
    check_shape,
    datatype_of,
    dtype_of,
    from_bytes,
    select_outputs,
    to_bytes,
)

# The InferTensorContents field of each datatype (FP16 has none).
CONTENTS_FIELD = {
    "BOOL": "bool_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}

_Tensor = pb.ModelInferRequest.InferInputTensor | pb.ModelInferResponse.InferOutputTensor
_INT64_MAX = (1 << 63) - 1


def parameters_from_proto(params: Any) -> dict[str, Any]:
    """An InferParameter map as Python values."""
    out = {}
    for key, param in params.items():
        choice = param.WhichOneof("parameter_choice")
        out[key] = getattr(param, choice) if choice else None
    return out


def parameters_to_proto(values: dict[str, Any], target: Any) -> None:
    """Python values into an InferParameter map (bool, int, float, str; others as str)."""
    for key, value in values.items():
        param = target[key]
        if isinstance(value, bool):
            param.bool_param = value
        elif isinstance(value, int):
            if value > _INT64_MAX:
                param.uint64_param = value
            else:
                param.int64_param = value
        elif isinstance(value, float):
            param.double_param = value
        elif value is not None:
            param.string_param = str(value)


def _tensor(tensor: _Tensor, raw: bytes | None) -> np.ndarray:
    name, datatype, shape = tensor.name, tensor.datatype, list(tensor.shape)
    if raw is not None:
        if tensor.HasField("contents"):
            raise BadRequest(
                f"input '{name}': contents must not be set when raw_input_contents is used"
            )
        return from_bytes(datatype, shape, raw, name=name)
    dt = dtype_of(datatype, name=name)
    dims = check_shape(shape, name=name)
    field = CONTENTS_FIELD.get(datatype)
    if field is None:
        raise BadRequest(f"input '{name}': {datatype} must be sent in raw_input_contents")
    values = getattr(tensor.contents, field)
    count = math.prod(dims)
    if len(values) != count:
        raise BadRequest(
            f"input '{name}': {len(values)} elements do not match shape {list(dims)} "
            f"({count} elements)"
        )
    if datatype == "BYTES":
        array = np.empty(count, dtype=object)
        array[:] = list(values)
    elif dt.itemsize < 4 and datatype != "BOOL":
        # Narrow ints travel in 32-bit fields; numpy would wrap out-of-range values silently.
        wide = np.array(values, dtype=np.int64)
        array = wide.astype(dt)
        if not np.array_equal(array, wide):
            raise BadRequest(f"input '{name}': values out of range for {datatype}")
    else:
        array = np.array(values, dtype=dt)
    return array.reshape(dims)


def request_from_proto(msg: pb.ModelInferRequest) -> InferRequest:
    """An inference request from contents or raw_input_contents."""
    raws = msg.raw_input_contents
    if raws and len(raws) != len(msg.inputs):
        raise BadRequest(f"raw_input_contents has {len(raws)} entries for {len(msg.inputs)} inputs")
    inputs = {}
    for i, tensor in enumerate(msg.inputs):
        if not tensor.name:
            raise BadRequest(f"inputs[{i}] has no name")
        if tensor.name in inputs:
            raise BadRequest(f"input '{tensor.name}' appears twice")
        inputs[tensor.name] = _tensor(tensor, raws[i] if raws else None)
    if not inputs:
        raise BadRequest("the request has no inputs")
    return InferRequest(
        inputs=inputs,
        outputs=[o.name for o in msg.outputs],
        binary_outputs=set(),
        parameters=parameters_from_proto(msg.parameters),
        id=msg.id,
    )


def _fill(tensor: _Tensor, name: str, array: np.ndarray, raws: list[bytes] | None) -> None:
    datatype = datatype_of(array)
    tensor.name = name
    tensor.datatype = datatype
    tensor.shape.extend(array.shape)
    if raws is not None:
        raws.append(to_bytes(array))
        return
    values = getattr(tensor.contents, CONTENTS_FIELD[datatype])
    if datatype == "BYTES":
        values.extend(
            x if isinstance(x, bytes) else str(x).encode() for x in array.ravel().tolist()
        )
    else:
        values.extend(array.ravel().tolist())


def _use_raw(arrays: Sequence[np.ndarray], raw: bool) -> bool:
    # Raw and typed contents cannot mix; an FP16 tensor forces raw for all.
    return raw or any(datatype_of(a) not in CONTENTS_FIELD for a in arrays)


def response_to_proto(
    response: InferResponse, *, raw: bool = True, outputs: Sequence[str] = ()
) -> pb.ModelInferResponse:
    """The response message; `outputs` (the request's requested names) filters and orders."""
    selected = select_outputs(response.outputs, list(outputs))
    msg = pb.ModelInferResponse(
        model_name=response.model_name, model_version=response.model_version, id=response.id
    )
    parameters_to_proto(response.parameters, msg.parameters)
    raws: list[bytes] | None = [] if _use_raw(list(selected.values()), raw) else None
    for name, array in selected.items():
        _fill(msg.outputs.add(), name, array, raws)
    if raws is not None:
        msg.raw_output_contents.extend(raws)
    return msg


def request_to_proto(
    model_name: str,
    inputs: dict[str, np.ndarray],
    outputs: Sequence[str] = (),
    *,
    raw: bool = True,
    model_version: str = "",
    id: str = "",
    parameters: dict[str, Any] | None = None,
) -> pb.ModelInferRequest:
    """A request message (client side: sy.predict, tests)."""
    msg = pb.ModelInferRequest(model_name=model_name, model_version=model_version, id=id)
    parameters_to_proto(parameters or {}, msg.parameters)
    arrays = {name: np.asarray(value) for name, value in inputs.items()}
    raws: list[bytes] | None = [] if _use_raw(list(arrays.values()), raw) else None
    for name, array in arrays.items():
        _fill(msg.inputs.add(), name, array, raws)
    if raws is not None:
        msg.raw_input_contents.extend(raws)
    for name in outputs:
        msg.outputs.add(name=name)
    return msg


def response_from_proto(msg: pb.ModelInferResponse) -> dict[str, np.ndarray]:
    """The outputs of a response message, from contents or raw_output_contents."""
    raws = msg.raw_output_contents
    if raws and len(raws) != len(msg.outputs):
        raise BadRequest(
            f"raw_output_contents has {len(raws)} entries for {len(msg.outputs)} outputs"
        )
    return {t.name: _tensor(t, raws[i] if raws else None) for i, t in enumerate(msg.outputs)}


def metadata_to_proto(
    name: str,
    versions: list[str],
    platform: str,
    inputs: list[TensorSpec],
    outputs: list[TensorSpec],
) -> pb.ModelMetadataResponse:
    meta = pb.ModelMetadataResponse.TensorMetadata
    return pb.ModelMetadataResponse(
        name=name,
        versions=versions,
        platform=platform,
        inputs=[meta(name=s.name, datatype=s.datatype, shape=s.shape) for s in inputs],
        outputs=[meta(name=s.name, datatype=s.datatype, shape=s.shape) for s in outputs],
    )


def specs_from_proto(meta: pb.ModelMetadataResponse) -> tuple[list[TensorSpec], list[TensorSpec]]:
    def specs(tensors: Any) -> list[TensorSpec]:
        return [TensorSpec(t.name, t.datatype, list(t.shape)) for t in tensors]

    return specs(meta.inputs), specs(meta.outputs)


# method -> (request class, response class)
