"""The gateway's gRPC-to-REST bridge against the real codec on both ends: a raw
ModelInferRequest rewritten into the binary REST form parses back to the same
tensors, and a binary REST answer becomes a ModelInferResponse whose raw
outputs decode to the same arrays."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from switchyard.proto.v1 import inference_pb2 as ipb
from switchyard.services.inference_gateway import grpc_bridge
from switchyard.serving import oip_grpc, oip_rest
from switchyard.serving.tensors import InferResponse

INPUTS = {
    "x": np.arange(12, dtype=np.float32).reshape(3, 4),
    "ids": np.array([7, -1, 3], dtype=np.int64),
    "names": np.array([b"a", b"\xff\x00b", b""], dtype=object),
}


def test_a_raw_request_is_the_same_inference_in_rest_form() -> None:
    proto = oip_grpc.request_to_proto("m", INPUTS, ["y"], model_version="3", id="req-1")
    proto.parameters["priority"].int64_param = 2
    assert grpc_bridge.bridgeable(proto)
    path, headers, body = grpc_bridge.to_rest(proto)
    assert path == "/v2/models/m/versions/3/infer"
    length = int(dict(headers)["inference-header-content-length"])
    parsed = oip_rest.parse_infer(body, length)
    assert parsed.id == "req-1" and parsed.outputs == ["y"]
    assert parsed.parameters["priority"] == 2
    for name, array in INPUTS.items():
        np.testing.assert_array_equal(parsed.inputs[name], array)


def test_typed_contents_are_not_bridged() -> None:
    proto = oip_grpc.request_to_proto("m", INPUTS, raw=False)
    assert not grpc_bridge.bridgeable(proto)
    assert not grpc_bridge.bridgeable(ipb.ModelInferRequest(model_name="m"))


def test_a_binary_rest_answer_becomes_raw_grpc_outputs() -> None:
    request = oip_rest.parse_infer(*_rest_body())
    outputs = {"y": np.array([[1.5, -2.0]], dtype=np.float64), "tags": INPUTS["names"]}
    body, length = oip_rest.encode_infer(InferResponse("m", "3", outputs, id="req-1"), request)
    assert length is not None
    headers = [("Inference-Header-Content-Length", str(length))]
    answer = ipb.ModelInferResponse.FromString(grpc_bridge.from_rest(200, headers, body))
    assert (answer.model_name, answer.model_version, answer.id) == ("m", "3", "req-1")
    decoded = oip_grpc.response_from_proto(answer)
    for name, array in outputs.items():
        np.testing.assert_array_equal(decoded[name], array)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, grpc.StatusCode.INVALID_ARGUMENT),
        (404, grpc.StatusCode.NOT_FOUND),
        (500, grpc.StatusCode.INTERNAL),
        (503, grpc.StatusCode.UNAVAILABLE),
    ],
)
def test_rest_errors_keep_their_message_as_grpc_statuses(
    status: int, code: grpc.StatusCode
) -> None:
    with pytest.raises(grpc_bridge.BridgeError) as caught:
        grpc_bridge.from_rest(status, [], oip_rest.error_body("input 'x': bad shape"))
    assert caught.value.code == code and caught.value.message == "input 'x': bad shape"


def _rest_body() -> tuple[bytes, int]:
    proto = oip_grpc.request_to_proto("m", INPUTS)
    _, headers, body = grpc_bridge.to_rest(proto)
    return body, int(dict(headers)["inference-header-content-length"])
