"""`sy.predict`: a deployment's outputs for numpy / pandas inputs, over OIP gRPC.

    y = sy.predict("fraud", X)                      # one input, one output: an array
    out = sy.predict("ranker", {"query": q, "docs": d})   # several outputs: a dict
    y = sy.predict("fraud", frame)                  # one input per column (MLServer's way)

Requests go to the gateway's `inference.GRPCInferenceService` (`grpc.inference`
in endpoints.json, or SWITCHYARD_INFERENCE_ADDRESS) with the tensors as raw
bytes (`raw_input_contents`), one channel per address for the process. A
model's metadata (its inputs' names and datatypes) is read once per name and
kept: a bare array goes to the single input, and numbers are cast to the
datatype the model declares (float64 features to an FP32 model).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc
import numpy as np

from switchyard.core.config import Settings
from switchyard.errors import Internal, InvalidArgument, Unavailable, from_rpc_error
from switchyard.proto.v1 import inference_pb2
from switchyard.sdk.channels import sync_channel
from switchyard.sdk.rpcs import Rpc, Service

if TYPE_CHECKING:
    from switchyard.sdk.transport import Transport
    from switchyard.serving.tensors import TensorSpec

DEFAULT_TIMEOUT = 60.0  # seconds; covers a scale from zero (the gateway holds the request)

# For the interceptor chain's metadata (trace context, identity, token): the
# OIP service has no generated stub, the calls go through oip_grpc's.
_OIP = Service("inference", lambda channel: None)
MODEL_INFER = Rpc(
    _OIP, "ModelInfer", inference_pb2.ModelInferRequest, inference_pb2.ModelInferResponse
)
MODEL_METADATA = Rpc(
    _OIP,
    "ModelMetadata",
    inference_pb2.ModelMetadataRequest,
    inference_pb2.ModelMetadataResponse,
    retry=True,
)


@dataclass
class _Client:
    """The channel to one OIP address and the model metadata read through it."""

    channel: grpc.Channel
    stub: Any
    inputs: dict[str, list[TensorSpec]] = field(default_factory=dict)


_clients: dict[str, _Client] = {}
_lock = threading.Lock()


def predict(
    name: str,
    inputs: Any,
    *,
    outputs: str | Sequence[str] | None = None,
    timeout: float | None = None,
    settings: Settings | None = None,
) -> np.ndarray | dict[str, np.ndarray]:
    """The outputs of deployment `name` for `inputs`.

    `inputs`: an array (or nested list) for a single-input model, a dict of input
    name -> array, or a pandas DataFrame (one input per column; a model with one
    input whose name is not a column gets the whole frame as one 2-D tensor).
    Returns an array when there is one output (or `outputs` names one), else a
    dict of output name -> array. `timeout`: seconds (None: 60).
    """
    from switchyard.sdk.serving.deployments import transport_for

    return infer_with(transport_for(settings), name, inputs, outputs=outputs, timeout=timeout)


def infer_with(
    transport: Transport,
    name: str,
    inputs: Any,
    *,
    outputs: str | Sequence[str] | None = None,
    timeout: float | None = None,
) -> np.ndarray | dict[str, np.ndarray]:
    """`predict` on a given transport (its settings, endpoints and interceptors)."""
    wanted = [outputs] if isinstance(outputs, str) else list(outputs or ())
    result = infer(transport, name, inputs, wanted, timeout)
    if isinstance(outputs, str):
        return result[outputs]
    if outputs is None and len(result) == 1:
        return next(iter(result.values()))
    return result


def infer(
    transport: Transport,
    name: str,
    inputs: Any,
    outputs: Sequence[str] = (),
    timeout: float | None = None,
) -> dict[str, np.ndarray]:
    """Every output (or those asked for) by name: the one call `predict` makes."""
    from switchyard.serving import oip_grpc
    from switchyard.serving.tensors import BadRequest

    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"name must be a deployment name, not {name!r}", field="name")
    for output in outputs:
        if not isinstance(output, str):
            raise InvalidArgument(f"outputs must be names, not {output!r}", field="outputs")
    seconds = DEFAULT_TIMEOUT if timeout is None else timeout
    client = _client(transport)
    specs = _input_specs(client, transport, name, seconds)
    arrays = as_arrays(inputs, specs, name)
    request = oip_grpc.request_to_proto(name, arrays, list(outputs), raw=True)
    try:
        reply = client.stub.ModelInfer(
            request, timeout=seconds, metadata=transport.chain.metadata(MODEL_INFER)
        )
    except grpc.RpcError as exc:
        client.inputs.pop(name, None)  # the model may have changed: read its metadata again
        raise from_rpc_error(exc) from None
    try:
        return oip_grpc.response_from_proto(reply)
    except BadRequest as exc:  # the server's answer, not the caller's request
        raise Internal(f"malformed response from {name!r}: {exc}") from None


def address(transport: Transport) -> str:
    """Where the gateway serves OIP gRPC."""
    found = transport.settings.address_for("INFERENCE") or transport.endpoints.grpc.get("inference")
    if not found:
        where = transport.endpoints.looked
        raise Unavailable(
            "no address for the gateway's OIP gRPC endpoint (grpc.inference in endpoints.json)"
            + (f" (looked for {', '.join(where)})" if where else "")
            + ": start the platform with `switchyard up`, or set SWITCHYARD_INFERENCE_ADDRESS"
        )
    return found


def _client(transport: Transport) -> _Client:
    from switchyard.serving import oip_grpc

    where = address(transport)
    with _lock:
        found = _clients.get(where)
        if found is None:
            channel = sync_channel(where, transport.settings, traced=False, tls=transport.tls)
            found = _clients[where] = _Client(channel, oip_grpc.InferenceStub(channel))
        return found


def _input_specs(
    client: _Client, transport: Transport, name: str, timeout: float
) -> list[TensorSpec]:
    found = client.inputs.get(name)
    if found is not None:
        return found
    from switchyard.serving import oip_grpc

    request = inference_pb2.ModelMetadataRequest(name=name)
    try:
        reply = client.stub.ModelMetadata(
            request, timeout=timeout, metadata=transport.chain.metadata(MODEL_METADATA)
        )
    except grpc.RpcError as exc:
        raise from_rpc_error(exc) from None
    found = client.inputs[name] = oip_grpc.specs_from_proto(reply)[0]
    return found


def as_arrays(inputs: Any, specs: Sequence[TensorSpec], model: str = "") -> dict[str, np.ndarray]:
    """The named arrays `inputs` stand for, cast to the datatypes `specs` declare."""
    if type(inputs).__module__.startswith("pandas"):
        arrays = _from_pandas(inputs, specs)
    elif isinstance(inputs, Mapping):
        arrays = {}
        for key, value in inputs.items():
            if not isinstance(key, str):
                raise InvalidArgument(f"input names must be strings, not {key!r}", field="inputs")
            arrays[key] = _array(value, key)
    else:
        arrays = {_single_name(specs, model): _array(inputs, "inputs")}
    by_name = {s.name: s for s in specs}
    return {k: _cast(v, by_name.get(k)) for k, v in arrays.items()}


def _from_pandas(inputs: Any, specs: Sequence[TensorSpec]) -> dict[str, np.ndarray]:
    import pandas

    names = [s.name for s in specs]
    if isinstance(inputs, pandas.Series):
        key = str(inputs.name) if inputs.name in names else _single_name(specs, "")
        return {key: inputs.to_numpy()}
    if not isinstance(inputs, pandas.DataFrame):
        raise InvalidArgument(
            f"inputs must be an array, a dict or a DataFrame, not {type(inputs).__name__}",
            field="inputs",
        )
    columns = [str(c) for c in inputs.columns]
    if len(names) == 1 and names[0] not in columns:
        # One tensor input (e.g. [-1, n]): the frame's values, in column order.
        return {names[0]: inputs.to_numpy()}
    return {c: inputs[column].to_numpy() for c, column in zip(columns, inputs.columns, strict=True)}


def _single_name(specs: Sequence[TensorSpec], model: str) -> str:
    if len(specs) == 1:
        return specs[0].name
    names = ", ".join(s.name for s in specs)
    raise InvalidArgument(
        f"model {model!r} takes {len(specs)} inputs ({names}): pass a dict of name -> array",
        field="inputs",
    )


def _array(value: Any, field_name: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{field_name}: not an array ({exc})", field=field_name) from None
    if array.dtype.kind in "US":  # text: OIP's BYTES, as Python objects
        array = array.astype(object)
    if array.dtype.kind not in "biufO":
        raise InvalidArgument(
            f"{field_name}: arrays of {array.dtype} have no OIP datatype", field=field_name
        )
    return array


def _cast(array: np.ndarray, spec: TensorSpec | None) -> np.ndarray:
    if spec is None:
        return array
    from switchyard.serving.tensors import DATATYPES

    target = DATATYPES.get(spec.datatype)
    if target is None or array.dtype == target or array.dtype.kind not in "biuf":
        return array
    if np.dtype(target).kind not in "biuf":
        return array
    return array.astype(target)


def forget() -> None:
    """Close the cached channels and drop the model metadata (tests; after a platform restart)."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.channel.close()
