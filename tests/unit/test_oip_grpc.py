"""The OIP gRPC codec and service registration (switchyard.serving.oip_grpc).

The TRITON_GRPC_* messages were serialized once by tritonclient 2.73.0: RAW by
`tritonclient.grpc` (InferInput.set_data_from_numpy -> raw_input_contents, with priority as
its uint64 parameter), CONTENTS built with tritonclient's own `service_pb2` typed fields; both
must parse with our switchyard.v1 copy of the messages.
"""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from switchyard.proto.v1 import inference_pb2 as pb
from switchyard.serving import oip_grpc
from switchyard.serving.tensors import (
    DATATYPES,
    BadRequest,
    InferResponse,
    TensorSpec,
    datatype_of,
    to_bytes,
)

TRITON_GRPC_RAW = bytes.fromhex(
    "0a016d1201321a026731220d0a06637573746f6d12031a0176220e0a0164120921000000000000f83f22070a016e"
    "12021007220e0a087072696f726974791202280522070a0166120208012a130a07696e5f424f4f4c1204424f4f4c"
    "1a0202032a150a08696e5f55494e5438120555494e54381a0202032a170a09696e5f55494e543136120655494e54"
    "31361a0202032a170a09696e5f55494e543332120655494e5433321a0202032a170a09696e5f55494e5436341206"
    "55494e5436341a0202032a130a07696e5f494e54381204494e54381a0202032a150a08696e5f494e543136120549"
    "4e5431361a0202032a150a08696e5f494e5433321205494e5433321a0202032a150a08696e5f494e543634120549"
    "4e5436341a0202032a130a07696e5f465031361204465031361a0202032a130a07696e5f46503332120446503332"
    "1a0202032a130a07696e5f465036341204465036341a0202032a150a08696e5f4259544553120542595445531a02"
    "020332030a01793a060001000100013a060001020304053a0c0000010002000300040005003a1800000000010000"
    "00020000000300000004000000050000003a30000000000000000001000000000000000200000000000000030000"
    "0000000000040000000000000005000000000000003a06feff000102033a0cfeffffff00000100020003003a18fe"
    "ffffffffffffff000000000100000002000000030000003a30feffffffffffffffffffffffffffffff0000000000"
    "0000000100000000000000020000000000000003000000000000003a0c000000340038003a003c003d3a18000000"
    "000000803e0000003f0000403f0000803f0000a03f3a300000000000000000000000000000d03f000000000000e0"
    "3f000000000000e83f000000000000f03f000000000000f43f3a220100000061000000000300000068c3a9030000"
    "0078797a0100000000020000003132"
)

TRITON_GRPC_CONTENTS = bytes.fromhex(
    "0a016d1a0267322a1d0a07696e5f424f4f4c1204424f4f4c1a0202032a080a060001000100012a1f0a08696e5f55"
    "494e5438120555494e54381a0202032a0822060001020304052a210a09696e5f55494e543136120655494e543136"
    "1a0202032a0822060001020304052a210a09696e5f55494e543332120655494e5433321a0202032a082206000102"
    "0304052a210a09696e5f55494e543634120655494e5436341a0202032a082a060001020304052a2f0a07696e5f49"
    "4e54381204494e54381a0202032a1a1218feffffffffffffffff01ffffffffffffffffff01000102032a310a0869"
    "6e5f494e5431361205494e5431361a0202032a1a1218feffffffffffffffff01ffffffffffffffffff0100010203"
    "2a310a08696e5f494e5433321205494e5433321a0202032a1a1218feffffffffffffffff01ffffffffffffffffff"
    "01000102032a310a08696e5f494e5436341205494e5436341a0202032a1a1a18feffffffffffffffff01ffffffff"
    "ffffffffff01000102032a2f0a07696e5f465033321204465033321a0202032a1a3218000000000000803e000000"
    "3f0000403f0000803f0000a03f2a470a07696e5f465036341204465036341a0202032a323a300000000000000000"
    "000000000000d03f000000000000e03f000000000000e83f000000000000f03f000000000000f43f2a2d0a08696e"
    "5f4259544553120542595445531a0202032a164201614200420368c3a9420378797a42010042023132"
)


def expected() -> dict[str, np.ndarray]:
    """The arrays the fixtures were made from (as in test_oip_codec)."""
    base = np.array([[0, 1, 2], [3, 4, 5]])
    out = {}
    for datatype, dtype in DATATYPES.items():
        if datatype == "BOOL":
            out[datatype] = (base % 2).astype(bool)
        elif datatype.startswith("INT"):
            out[datatype] = (base - 2).astype(dtype)
        elif datatype.startswith("FP"):
            out[datatype] = (base / 4).astype(dtype)
        elif datatype.startswith("UINT"):
            out[datatype] = base.astype(dtype)
    strings = [b"a", b"", "h\u00e9".encode(), b"xyz", b"\x00", b"12"]
    out["BYTES"] = np.array(strings, dtype=object).reshape(2, 3)
    return out


def assert_tensor(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    assert datatype_of(got) == datatype_of(want)
    assert (got == want).all()


def test_tritonclient_raw_request() -> None:
    request = oip_grpc.request_from_proto(pb.ModelInferRequest.FromString(TRITON_GRPC_RAW))
    for datatype, want in expected().items():
        assert_tensor(request.inputs[f"in_{datatype}"], want)
    assert request.id == "g1"
    assert request.outputs == ["y"]
    assert request.parameters == {"custom": "v", "n": 7, "f": True, "d": 1.5, "priority": 5}


def test_tritonclient_contents_request() -> None:
    request = oip_grpc.request_from_proto(pb.ModelInferRequest.FromString(TRITON_GRPC_CONTENTS))
    for datatype, want in expected().items():
        if datatype != "FP16":  # no typed field: raw only
            assert_tensor(request.inputs[f"in_{datatype}"], want)


@pytest.mark.parametrize("raw", [True, False])
@pytest.mark.parametrize("datatype", list(DATATYPES))
def test_request_round_trip(datatype: str, raw: bool) -> None:
    want = expected()[datatype]
    msg = oip_grpc.request_to_proto("m", {"x": want, "y": want[:1]}, ["z"], raw=raw, id="7")
    assert bool(msg.raw_input_contents) == (raw or datatype == "FP16")
    request = oip_grpc.request_from_proto(pb.ModelInferRequest.FromString(msg.SerializeToString()))
    assert_tensor(request.inputs["x"], want)
    assert_tensor(request.inputs["y"], want[:1])
    assert (request.outputs, request.id) == (["z"], "7")


@pytest.mark.parametrize("raw", [True, False])
@pytest.mark.parametrize("datatype", list(DATATYPES))
def test_response_round_trip(datatype: str, raw: bool) -> None:
    want = expected()[datatype]
    response = InferResponse("m", "2", {"a": want, "b": want.T}, id="9")
    msg = oip_grpc.response_to_proto(response, raw=raw)
    assert (msg.model_name, msg.model_version, msg.id) == ("m", "2", "9")
    assert len(msg.raw_output_contents) == (2 if raw or datatype == "FP16" else 0)
    outputs = oip_grpc.response_from_proto(
        pb.ModelInferResponse.FromString(msg.SerializeToString())
    )
    assert list(outputs) == ["a", "b"]
    assert_tensor(outputs["a"], want)
    assert_tensor(outputs["b"], want.T)


def test_raw_outputs_are_the_binary_form_in_order() -> None:
    outputs = {"a": np.arange(3, dtype=np.int16), "b": np.array(["x"])}
    msg = oip_grpc.response_to_proto(InferResponse("m", "", outputs))
    assert list(msg.raw_output_contents) == [to_bytes(outputs["a"]), b"\x01\x00\x00\x00x"]
    assert [(o.name, o.datatype, list(o.shape)) for o in msg.outputs] == [
        ("a", "INT16", [3]),
        ("b", "BYTES", [1]),
    ]


def test_requested_outputs_filter_and_order() -> None:
    response = InferResponse("m", "", {"a": np.zeros(1), "b": np.ones(1), "c": np.ones(2)})
    msg = oip_grpc.response_to_proto(response, outputs=["c", "a"])
    assert list(oip_grpc.response_from_proto(msg)) == ["c", "a"]
    with pytest.raises(BadRequest, match="unknown output 'd'"):
        oip_grpc.response_to_proto(response, outputs=["d"])


def test_parameters_round_trip() -> None:
    values = {"b": True, "i": -3, "u": 1 << 63, "f": 0.25, "s": "x"}
    msg = pb.ModelInferRequest()
    oip_grpc.parameters_to_proto(values, msg.parameters)
    assert msg.parameters["u"].WhichOneof("parameter_choice") == "uint64_param"
    assert msg.parameters["b"].WhichOneof("parameter_choice") == "bool_param"
    assert oip_grpc.parameters_from_proto(msg.parameters) == values
    request = oip_grpc.request_to_proto("m", {"x": np.zeros(1)}, parameters=values)
    assert oip_grpc.request_from_proto(request).parameters == values


def test_metadata_round_trip() -> None:
    inputs = [TensorSpec("x", "FP32", [-1, 3])]
    outputs = [TensorSpec("y", "INT64", [-1]), TensorSpec("z", "BYTES", [1])]
    meta = oip_grpc.metadata_to_proto("m", ["1", "2"], "sklearn", inputs, outputs)
    meta = pb.ModelMetadataResponse.FromString(meta.SerializeToString())
    assert (meta.name, list(meta.versions), meta.platform) == ("m", ["1", "2"], "sklearn")
    assert oip_grpc.specs_from_proto(meta) == (inputs, outputs)


def _tensor(datatype: str, shape: list[int], **contents: list) -> dict:
    return {"name": "x", "datatype": datatype, "shape": shape, "contents": contents}


@pytest.mark.parametrize(
    ("msg", "message"),
    [
        (pb.ModelInferRequest(), "no inputs"),
        (
            pb.ModelInferRequest(inputs=[{"datatype": "FP32", "shape": [1]}]),
            "inputs.0. has no name",
        ),
        (
            pb.ModelInferRequest(
                inputs=[_tensor("FP32", [1], fp32_contents=[1.0])] * 2,
            ),
            "input 'x' appears twice",
        ),
        (pb.ModelInferRequest(inputs=[_tensor("FP8", [1])]), "input 'x': unknown datatype"),
        (pb.ModelInferRequest(inputs=[_tensor("BF16", [1])]), "input 'x': datatype BF16"),
        (
            pb.ModelInferRequest(inputs=[_tensor("FP32", [2], fp32_contents=[1.0])]),
            r"input 'x': 1 elements do not match shape \[2\]",
        ),
        (
            pb.ModelInferRequest(inputs=[_tensor("FP16", [1])]),
            "input 'x': FP16 must be sent in raw_input_contents",
        ),
        (
            pb.ModelInferRequest(inputs=[_tensor("UINT8", [2], uint_contents=[1, 300])]),
            "input 'x': values out of range for UINT8",
        ),
        (
            pb.ModelInferRequest(inputs=[_tensor("INT16", [1], int_contents=[-40000])]),
            "input 'x': values out of range for INT16",
        ),
        (
            pb.ModelInferRequest(inputs=[_tensor("FP32", [1])], raw_input_contents=[b"", b""]),
            "raw_input_contents has 2 entries for 1 inputs",
        ),
        (
            pb.ModelInferRequest(
                inputs=[_tensor("FP32", [1], fp32_contents=[1.0])], raw_input_contents=[b"\0" * 4]
            ),
            "input 'x': contents must not be set",
        ),
        (
            pb.ModelInferRequest(
                inputs=[{"name": "x", "datatype": "FP32", "shape": [2]}],
                raw_input_contents=[b"\0" * 4],
            ),
            r"input 'x': 4 bytes do not match shape \[2\]",
        ),
        (
            pb.ModelInferRequest(
                inputs=[{"name": "x", "datatype": "FP32", "shape": [-1]}], raw_input_contents=[b""]
            ),
            "input 'x': shape must be",
        ),
    ],
)
def test_bad_requests(msg: pb.ModelInferRequest, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        oip_grpc.request_from_proto(msg)


class _Servicer:
    async def ServerLive(self, request, context):
        return pb.ServerLiveResponse(live=True)

    async def ModelMetadata(self, request, context):
        return oip_grpc.metadata_to_proto(request.name, [], "p", [], [])

    async def ModelInfer(self, request, context):
        decoded = oip_grpc.request_from_proto(request)
        outputs = {"y": decoded.inputs["x"] * 2}
        return oip_grpc.response_to_proto(InferResponse(request.model_name, "1", outputs))


class _RawServicer(_Servicer):
    async def ModelInfer(self, request, context):
        assert isinstance(request, bytes)  # forwarded untouched by the gateway
        response = await super().ModelInfer(pb.ModelInferRequest.FromString(request), context)
        return response.SerializeToString()


@pytest.mark.parametrize("servicer", [_Servicer, _RawServicer])
async def test_service_over_a_real_channel(servicer: type) -> None:
    server = grpc.aio.server()
    if servicer is _RawServicer:
        oip_grpc.add_raw_inference_service(server, servicer())
    else:
        oip_grpc.add_inference_service(server, servicer())
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = oip_grpc.InferenceStub(channel)
            assert (await stub.ServerLive(pb.ServerLiveRequest())).live
            meta = await stub.ModelMetadata(pb.ModelMetadataRequest(name="m"))
            assert meta.name == "m"
            x = np.arange(4, dtype=np.float32).reshape(2, 2)
            response = await stub.ModelInfer(oip_grpc.request_to_proto("m", {"x": x}))
            assert_tensor(oip_grpc.response_from_proto(response)["y"], x * 2)
            raw_stub = oip_grpc.InferenceStub(channel, raw_infer=True)
            data = await raw_stub.ModelInfer(
                oip_grpc.request_to_proto("m", {"x": x}).SerializeToString()
            )
            assert isinstance(data, bytes)
            outputs = oip_grpc.response_from_proto(pb.ModelInferResponse.FromString(data))
            assert_tensor(outputs["y"], x * 2)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.ServerReady(pb.ServerReadyRequest())  # not implemented by the servicer
            assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        await server.stop(None)
