"""The OIP tensor and REST codecs (switchyard.serving.tensors / oip_rest).

The TRITON_HTTP_* bodies were made once by tritonclient 2.73.0's own request builder
(`tritonclient.http.InferenceServerClient.generate_request_body` with
`InferInput.set_data_from_numpy(..., binary_data=True/False)`), so these tests hold our parser
to tritonclient's real wire form without tritonclient installed.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from switchyard.serving import oip_rest
from switchyard.serving.tensors import (
    DATATYPES,
    BadRequest,
    InferRequest,
    InferResponse,
    TensorSpec,
    check_inputs,
    datatype_of,
    from_bytes,
    to_array,
    to_bytes,
    to_list,
)

# tritonclient.http all_binary: header length 1226
TRITON_HTTP_ALL_BINARY = bytes.fromhex(
    "7b226964223a227231222c22696e70757473223a5b7b226e616d65223a22696e5f424f4f4c222c22736861706522"
    "3a5b322c335d2c226461746174797065223a22424f4f4c222c22706172616d6574657273223a7b2262696e617279"
    "5f646174615f73697a65223a367d7d2c7b226e616d65223a22696e5f55494e5438222c227368617065223a5b322c"
    "335d2c226461746174797065223a2255494e5438222c22706172616d6574657273223a7b2262696e6172795f6461"
    "74615f73697a65223a367d7d2c7b226e616d65223a22696e5f55494e543136222c227368617065223a5b322c335d"
    "2c226461746174797065223a2255494e543136222c22706172616d6574657273223a7b2262696e6172795f646174"
    "615f73697a65223a31327d7d2c7b226e616d65223a22696e5f55494e543332222c227368617065223a5b322c335d"
    "2c226461746174797065223a2255494e543332222c22706172616d6574657273223a7b2262696e6172795f646174"
    "615f73697a65223a32347d7d2c7b226e616d65223a22696e5f55494e543634222c227368617065223a5b322c335d"
    "2c226461746174797065223a2255494e543634222c22706172616d6574657273223a7b2262696e6172795f646174"
    "615f73697a65223a34387d7d2c7b226e616d65223a22696e5f494e5438222c227368617065223a5b322c335d2c22"
    "6461746174797065223a22494e5438222c22706172616d6574657273223a7b2262696e6172795f646174615f7369"
    "7a65223a367d7d2c7b226e616d65223a22696e5f494e543136222c227368617065223a5b322c335d2c2264617461"
    "74797065223a22494e543136222c22706172616d6574657273223a7b2262696e6172795f646174615f73697a6522"
    "3a31327d7d2c7b226e616d65223a22696e5f494e543332222c227368617065223a5b322c335d2c22646174617479"
    "7065223a22494e543332222c22706172616d6574657273223a7b2262696e6172795f646174615f73697a65223a32"
    "347d7d2c7b226e616d65223a22696e5f494e543634222c227368617065223a5b322c335d2c226461746174797065"
    "223a22494e543634222c22706172616d6574657273223a7b2262696e6172795f646174615f73697a65223a34387d"
    "7d2c7b226e616d65223a22696e5f46503136222c227368617065223a5b322c335d2c226461746174797065223a22"
    "46503136222c22706172616d6574657273223a7b2262696e6172795f646174615f73697a65223a31327d7d2c7b22"
    "6e616d65223a22696e5f46503332222c227368617065223a5b322c335d2c226461746174797065223a2246503332"
    "222c22706172616d6574657273223a7b2262696e6172795f646174615f73697a65223a32347d7d2c7b226e616d65"
    "223a22696e5f46503634222c227368617065223a5b322c335d2c226461746174797065223a2246503634222c2270"
    "6172616d6574657273223a7b2262696e6172795f646174615f73697a65223a34387d7d2c7b226e616d65223a2269"
    "6e5f4259544553222c227368617065223a5b322c335d2c226461746174797065223a224259544553222c22706172"
    "616d6574657273223a7b2262696e6172795f646174615f73697a65223a33347d7d5d2c22706172616d6574657273"
    "223a7b2262696e6172795f646174615f6f7574707574223a747275657d7d00010001000100010203040500000100"
    "02000300040005000000000001000000020000000300000004000000050000000000000000000000010000000000"
    "00000200000000000000030000000000000004000000000000000500000000000000feff00010203feffffff0000"
    "010002000300feffffffffffffff00000000010000000200000003000000feffffffffffffffffffffffffffffff"
    "0000000000000000010000000000000002000000000000000300000000000000000000340038003a003c003d0000"
    "00000000803e0000003f0000403f0000803f0000a03f0000000000000000000000000000d03f000000000000e03f"
    "000000000000e83f000000000000f03f000000000000f43f0100000061000000000300000068c3a9030000007879"
    "7a0100000000020000003132"
)

# tritonclient.http all_json: header length None
TRITON_HTTP_ALL_JSON = bytes.fromhex(
    "7b226964223a227231222c22696e70757473223a5b7b226e616d65223a22696e5f424f4f4c222c22736861706522"
    "3a5b322c335d2c226461746174797065223a22424f4f4c222c2264617461223a5b66616c73652c747275652c6661"
    "6c73652c747275652c66616c73652c747275655d7d2c7b226e616d65223a22696e5f55494e5438222c2273686170"
    "65223a5b322c335d2c226461746174797065223a2255494e5438222c2264617461223a5b302c312c322c332c342c"
    "355d7d2c7b226e616d65223a22696e5f55494e543136222c227368617065223a5b322c335d2c2264617461747970"
    "65223a2255494e543136222c2264617461223a5b302c312c322c332c342c355d7d2c7b226e616d65223a22696e5f"
    "55494e543332222c227368617065223a5b322c335d2c226461746174797065223a2255494e543332222c22646174"
    "61223a5b302c312c322c332c342c355d7d2c7b226e616d65223a22696e5f55494e543634222c227368617065223a"
    "5b322c335d2c226461746174797065223a2255494e543634222c2264617461223a5b302c312c322c332c342c355d"
    "7d2c7b226e616d65223a22696e5f494e5438222c227368617065223a5b322c335d2c226461746174797065223a22"
    "494e5438222c2264617461223a5b2d322c2d312c302c312c322c335d7d2c7b226e616d65223a22696e5f494e5431"
    "36222c227368617065223a5b322c335d2c226461746174797065223a22494e543136222c2264617461223a5b2d32"
    "2c2d312c302c312c322c335d7d2c7b226e616d65223a22696e5f494e543332222c227368617065223a5b322c335d"
    "2c226461746174797065223a22494e543332222c2264617461223a5b2d322c2d312c302c312c322c335d7d2c7b22"
    "6e616d65223a22696e5f494e543634222c227368617065223a5b322c335d2c226461746174797065223a22494e54"
    "3634222c2264617461223a5b2d322c2d312c302c312c322c335d7d2c7b226e616d65223a22696e5f46503136222c"
    "227368617065223a5b322c335d2c226461746174797065223a2246503136222c2264617461223a5b302e302c302e"
    "32352c302e352c302e37352c312e302c312e32355d7d2c7b226e616d65223a22696e5f46503332222c2273686170"
    "65223a5b322c335d2c226461746174797065223a2246503332222c2264617461223a5b302e302c302e32352c302e"
    "352c302e37352c312e302c312e32355d7d2c7b226e616d65223a22696e5f46503634222c227368617065223a5b32"
    "2c335d2c226461746174797065223a2246503634222c2264617461223a5b302e302c302e32352c302e352c302e37"
    "352c312e302c312e32355d7d2c7b226e616d65223a22696e5f4259544553222c227368617065223a5b322c335d2c"
    "226461746174797065223a224259544553222c2264617461223a5b2261222c22222c22685c7530304539222c2278"
    "797a222c225c7530303030222c223132225d7d5d2c22706172616d6574657273223a7b2262696e6172795f646174"
    "615f6f7574707574223a747275657d7d"
)

# tritonclient.http mixed_outputs: header length 455
TRITON_HTTP_MIXED_OUTPUTS = bytes.fromhex(
    "7b226964223a223432222c22696e70757473223a5b7b226e616d65223a2278222c227368617065223a5b322c335d"
    "2c226461746174797065223a2246503332222c22706172616d6574657273223a7b2262696e6172795f646174615f"
    "73697a65223a32347d7d2c7b226e616d65223a2273222c227368617065223a5b322c335d2c226461746174797065"
    "223a224259544553222c2264617461223a5b2261222c22222c22685c7530304539222c2278797a222c225c753030"
    "3030222c223132225d7d2c7b226e616d65223a2262222c227368617065223a5b322c335d2c226461746174797065"
    "223a22424f4f4c222c22706172616d6574657273223a7b2262696e6172795f646174615f73697a65223a367d7d5d"
    "2c226f757470757473223a5b7b226e616d65223a2279222c22706172616d6574657273223a7b2262696e6172795f"
    "64617461223a747275657d7d2c7b226e616d65223a227a222c22706172616d6574657273223a7b2262696e617279"
    "5f64617461223a66616c73657d7d5d2c22706172616d6574657273223a7b227072696f72697479223a332c227469"
    "6d656f7574223a313030302c22637573746f6d223a2276222c226e223a372c2266223a747275657d7d0000000000"
    "00803e0000003f0000403f0000803f0000a03f000100010001"
)


def expected() -> dict[str, np.ndarray]:
    """The arrays the fixtures were made from: one [2, 3] tensor per datatype."""
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
    assert datatype_of(got) == datatype_of(want)
    assert got.dtype == want.dtype
    assert (got == want).all()


def binary_body(doc: dict, parts: list[bytes]) -> tuple[bytes, int]:
    header = json.dumps(doc).encode()
    return header + b"".join(parts), len(header)


def read_response(body: bytes, header_length: int | None) -> tuple[dict, dict[str, np.ndarray]]:
    """Our response parsed the way tritonclient.http's InferResult does."""
    doc = json.loads(body if header_length is None else body[:header_length])
    offset = header_length or 0
    arrays = {}
    for out in doc["outputs"]:
        size = out.get("parameters", {}).get("binary_data_size")
        if size is None:
            data = out["data"]
            if out["datatype"] == "BYTES":
                data = [s.encode() for s in data]
            arrays[out["name"]] = to_array(out["datatype"], out["shape"], data, name=out["name"])
        else:
            raw = body[offset : offset + size]
            arrays[out["name"]] = from_bytes(out["datatype"], out["shape"], raw, name=out["name"])
            offset += size
    assert offset == (len(body) if header_length is not None else 0)
    return doc, arrays


# --- tensors --------------------------------------------------------------------------------


@pytest.mark.parametrize("datatype", list(DATATYPES))
def test_json_round_trip_every_datatype(datatype: str) -> None:
    want = expected()[datatype]
    flat = to_list(want, name="x")
    assert_tensor(to_array(datatype, [2, 3], flat, name="x"), want)
    nested = np.array(flat, dtype=object).reshape(2, 3).tolist()
    assert_tensor(to_array(datatype, [2, 3], nested, name="x"), want)


@pytest.mark.parametrize("datatype", list(DATATYPES))
def test_binary_round_trip_every_datatype(datatype: str) -> None:
    want = expected()[datatype]
    raw = to_bytes(want)
    got = from_bytes(datatype, [2, 3], raw, name="x")
    assert_tensor(got, want)
    assert got.flags.writeable


def test_binary_forms_are_the_extensions() -> None:
    assert to_bytes(np.array([True, False])) == b"\x01\x00"
    assert to_bytes(np.array([1], dtype=">i4")) == b"\x01\x00\x00\x00"  # always little-endian
    assert to_bytes(np.array(["ab", "\u00e9"])) == b"\x02\x00\x00\x00ab\x02\x00\x00\x00\xc3\xa9"
    assert to_bytes(np.arange(6, dtype=np.int8).reshape(2, 3).T) == bytes([0, 3, 1, 4, 2, 5])


def test_datatype_of() -> None:
    assert datatype_of(np.array(["a"])) == "BYTES"
    assert datatype_of(np.array([b"a"])) == "BYTES"
    assert datatype_of(np.zeros(1, dtype=np.float16)) == "FP16"
    assert datatype_of(np.zeros(1, dtype=np.uint64)) == "UINT64"
    with pytest.raises(TypeError):
        datatype_of(np.zeros(1, dtype=complex))


def test_json_coerces_numbers_and_accepts_scalar_shapes() -> None:
    assert to_array("FP32", [2], [1, 2], name="x").dtype == np.float32
    assert to_array("INT64", [], [7], name="x").shape == ()
    assert to_array("BYTES", [1], ["\u00e9"], name="x")[0] == "\u00e9".encode()


# --- REST requests --------------------------------------------------------------------------


def test_tritonclient_all_binary_request() -> None:
    request = oip_rest.parse_infer(TRITON_HTTP_ALL_BINARY, 1226)
    assert request.id == "r1"
    assert request.outputs == []
    assert request.parameters == {"binary_data_output": True}
    for datatype, want in expected().items():
        assert_tensor(request.inputs[f"in_{datatype}"], want)
    assert list(request.inputs) == [f"in_{d}" for d in DATATYPES]


def test_tritonclient_all_json_request() -> None:
    request = oip_rest.parse_infer(TRITON_HTTP_ALL_JSON, None)
    for datatype, want in expected().items():
        assert_tensor(request.inputs[f"in_{datatype}"], want)


def test_tritonclient_mixed_request_with_outputs_and_parameters() -> None:
    request = oip_rest.parse_infer(TRITON_HTTP_MIXED_OUTPUTS, 455)
    want = expected()
    assert_tensor(request.inputs["x"], want["FP32"])
    assert_tensor(request.inputs["s"], want["BYTES"])
    assert_tensor(request.inputs["b"], want["BOOL"])
    assert request.id == "42"
    assert request.outputs == ["y", "z"]
    assert request.binary_outputs == {"y"}
    assert request.parameters == {"priority": 3, "timeout": 1000, "custom": "v", "n": 7, "f": True}


def test_binary_and_json_inputs_interleave() -> None:
    doc = {
        "inputs": [
            {"name": "a", "shape": [2], "datatype": "INT32", "parameters": {"binary_data_size": 8}},
            {"name": "b", "shape": [1], "datatype": "FP64", "data": [0.5]},
            {"name": "c", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 7}},
        ]
    }
    body, length = binary_body(doc, [struct.pack("<2i", 1, -1), b"\x03\x00\x00\x00abc"])
    request = oip_rest.parse_infer(body, length)
    assert request.inputs["a"].tolist() == [1, -1]
    assert request.inputs["b"].tolist() == [0.5]
    assert request.inputs["c"].tolist() == [b"abc"]


# --- REST responses -------------------------------------------------------------------------


def _response() -> InferResponse:
    outputs = {f"out_{d}": a for d, a in expected().items()}
    return InferResponse("m", "3", outputs, id="", parameters={"p": 1})


def _request(
    outputs: list[str] | None = None, binary: set[str] | None = None, **params
) -> InferRequest:
    return InferRequest({}, outputs or [], binary or set(), params, "rid")


def test_response_all_json() -> None:
    body, length = oip_rest.encode_infer(_response(), _request())
    assert length is None
    doc, arrays = read_response(body, length)
    assert (doc["model_name"], doc["model_version"], doc["id"]) == ("m", "3", "rid")
    assert doc["parameters"] == {"p": 1}
    for datatype, want in expected().items():
        assert_tensor(arrays[f"out_{datatype}"], want)
        assert "parameters" not in doc["outputs"][list(DATATYPES).index(datatype)]


def test_response_all_binary_by_request_parameter() -> None:
    body, length = oip_rest.encode_infer(_response(), _request(binary_data_output=True))
    assert length is not None
    doc, arrays = read_response(body, length)
    assert all("data" not in o for o in doc["outputs"])
    for datatype, want in expected().items():
        assert_tensor(arrays[f"out_{datatype}"], want)


def test_requested_outputs_filter_order_and_binary_choice() -> None:
    names = [f"out_{d}" for d in DATATYPES][::-1]
    body, length = oip_rest.encode_infer(_response(), _request(names[:4], set(names[:2])))
    doc, arrays = read_response(body, length)
    assert [o["name"] for o in doc["outputs"]] == names[:4]
    assert ["data" in o for o in doc["outputs"]] == [False, False, True, True]
    for name in names[:4]:
        assert_tensor(arrays[name], _response().outputs[name])


def test_per_output_binary_overrides_request_default() -> None:
    doc = {
        "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}],
        "parameters": {"binary_data_output": True},
        "outputs": [{"name": "a"}, {"name": "b", "parameters": {"binary_data": False}}],
    }
    request = oip_rest.parse_infer(json.dumps(doc).encode(), None)
    assert request.outputs == ["a", "b"]
    assert request.binary_outputs == {"a"}


def test_unknown_requested_output() -> None:
    with pytest.raises(BadRequest, match="unknown output 'nope'"):
        oip_rest.encode_infer(_response(), _request(["nope"]))


def test_non_utf8_bytes_output_needs_binary() -> None:
    response = InferResponse("m", "", {"s": np.array([b"\xff"], dtype=object)})
    with pytest.raises(BadRequest, match=r"output 's'.*binary_data"):
        oip_rest.encode_infer(response, _request())
    body, length = oip_rest.encode_infer(response, _request(["s"], {"s"}))
    assert read_response(body, length)[1]["s"].tolist() == [b"\xff"]


def test_error_and_metadata_bodies() -> None:
    assert json.loads(oip_rest.error_body('bad "x"')) == {"error": 'bad "x"'}
    spec_in, spec_out = TensorSpec("x", "FP32", [-1, 3]), TensorSpec("y", "FP64", [-1])
    meta = json.loads(oip_rest.encode_model_metadata("m", ["1"], "sklearn", [spec_in], [spec_out]))
    assert meta == {
        "name": "m",
        "versions": ["1"],
        "platform": "sklearn",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
        "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1]}],
    }


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("/v2/models/m", ("m", "", "")),
        ("/v2/models/m/", ("m", "", "")),
        ("/v2/models/m/infer", ("m", "", "infer")),
        ("/v2/models/m/ready", ("m", "", "ready")),
        ("/v2/models/m/versions/2", ("m", "2", "")),
        ("/v2/models/m/versions/2/infer", ("m", "2", "infer")),
        ("/v2/models/m/versions/2/ready", ("m", "2", "ready")),
        ("/v2/models/my%20model/infer", ("my model", "", "infer")),
        ("/v2/models/m/config", None),
        ("/v2/models/m/versions", None),
        ("/v2/models/m/versions//infer", None),
        ("/v2/models/m/versions/2/infer/x", None),
        ("/v2/models/", None),
        ("/v2/health/ready", None),
        ("/v2", None),
    ],
)
def test_model_name_of(path: str, want: tuple[str, str, str] | None) -> None:
    assert oip_rest.model_name_of(path) == want


# --- bad requests ---------------------------------------------------------------------------


def _one(**tensor) -> bytes:
    return json.dumps({"inputs": [{"name": "x", **tensor}]}).encode()


@pytest.mark.parametrize(
    ("body", "length", "message"),
    [
        (b"{not json", None, "malformed JSON"),
        (b"\xff\xfe", None, "malformed JSON"),
        (b"[1, 2]", None, "must be a JSON object"),
        (b"{}", None, "no 'inputs'"),
        (b'{"inputs": []}', None, "no 'inputs'"),
        (b'{"inputs": [1]}', None, r"inputs\[0\] must be an object"),
        (b'{"inputs": [{"shape": [1]}]}', None, r"inputs\[0\] has no 'name'"),
        (b'{"inputs": [{"name": "x"}], "id": 5}', None, "'id' must be a string"),
        (b'{"inputs": [{"name": "x"}], "parameters": []}', None, "'parameters' must be"),
        (_one(shape=[1], data=[1]), None, "input 'x' has no 'datatype'"),
        (_one(datatype="FP32", data=[1]), None, "input 'x' has no 'shape'"),
        (_one(datatype="FP32", shape=[1]), None, "input 'x' has no 'data'"),
        (_one(datatype="FP8", shape=[1], data=[1]), None, "input 'x': unknown datatype 'FP8'"),
        (_one(datatype="BF16", shape=[1], data=[1]), None, "input 'x': datatype BF16"),
        (_one(datatype="FP32", shape=[2, 2], data=[1, 2, 3]), None, "input 'x': 3 elements"),
        (_one(datatype="FP32", shape=[2, 2], data=[[1, 2], [3]]), None, "input 'x'"),
        (_one(datatype="FP32", shape=[-1], data=[1]), None, "input 'x': shape must be"),
        (_one(datatype="FP32", shape="2", data=[1]), None, "input 'x': shape must be"),
        (_one(datatype="FP32", shape=[1], data=1), None, "input 'x': 'data' must be a list"),
        (_one(datatype="FP32", shape=[1], data=["a"]), None, "input 'x': data is not valid FP32"),
        (_one(datatype="UINT8", shape=[1], data=[300]), None, "input 'x': data is not valid"),
        (_one(datatype="INT32", shape=[1], data=[None]), None, "input 'x': data is not valid"),
        (_one(datatype="BYTES", shape=[1], data=[1]), None, "input 'x': BYTES elements"),
        (
            _one(datatype="FP32", shape=[1], data=[1], parameters={"shared_memory_region": "r"}),
            None,
            "input 'x': the shared_memory_region extension is not supported",
        ),
        (
            b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]},'
            b' {"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]}',
            None,
            "input 'x' appears twice",
        ),
        (
            b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],'
            b' "outputs": [{"name": "y", "parameters": {"classification": 2}}]}',
            None,
            "output 'y': the classification extension",
        ),
        (
            b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],'
            b' "outputs": {"name": "y"}}',
            None,
            "'outputs' must be a list",
        ),
    ],
)
def test_bad_json_requests(body: bytes, length: int | None, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        oip_rest.parse_infer(body, length)


def _binary(size: object, shape: list[int], datatype: str, data: bytes) -> tuple[bytes, int]:
    params = {"binary_data_size": size}
    doc = {"inputs": [{"name": "x", "shape": shape, "datatype": datatype, "parameters": params}]}
    return binary_body(doc, [data])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (_binary(16, [2], "FP32", b"\0" * 8), "input 'x': binary_data_size 16 overruns the body"),
        (_binary(8, [3], "FP32", b"\0" * 8), "input 'x': 8 bytes do not match shape"),
        (_binary(4, [1], "FP32", b"\0" * 8), "4 bytes of binary data follow the inputs"),
        (_binary(-1, [1], "FP32", b""), "input 'x': binary_data_size must be"),
        (_binary("4", [1], "FP32", b"\0" * 4), "input 'x': binary_data_size must be"),
        (_binary(6, [1], "BYTES", b"\x05\0\0\0ab"), "input 'x': BYTES element 0 overruns"),
        (_binary(2, [1], "BYTES", b"\x05\0"), "input 'x': BYTES data ends before element 0"),
        (_binary(6, [1], "BYTES", b"\x01\0\0\0ab"), "input 'x': 1 bytes left after"),
    ],
)
def test_bad_binary_requests(case: tuple[bytes, int], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        oip_rest.parse_infer(*case)


def test_header_length_outside_the_body() -> None:
    with pytest.raises(BadRequest, match="Inference-Header-Content-Length 99"):
        oip_rest.parse_infer(b"{}", 99)
    with pytest.raises(BadRequest, match="needs Inference-Header-Content-Length"):
        oip_rest.parse_infer(b'{"inputs": []}\x00\x01', None)


# --- signature checks -----------------------------------------------------------------------

SPECS = [TensorSpec("x", "FP32", [-1, 3]), TensorSpec("s", "BYTES", [1])]


def test_check_inputs_accepts_wildcards_and_no_signature() -> None:
    inputs = {"x": np.zeros((5, 3), np.float32), "s": np.array([b"a"], dtype=object)}
    check_inputs(inputs, SPECS)
    check_inputs({"anything": np.zeros(1)}, [])


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"x": np.zeros((1, 3), np.float32), "z": np.zeros(1)}, "unknown input 'z'"),
        ({"x": np.zeros((1, 3), np.float32)}, "missing input 's'"),
        ({"x": np.zeros((1, 3)), "s": np.array([b"a"])}, "input 'x': datatype FP64 does not"),
        ({"x": np.zeros((1, 4), np.float32), "s": np.array([b"a"])}, r"input 'x': shape \[1, 4\]"),
        ({"x": np.zeros(3, np.float32), "s": np.array([b"a"])}, r"input 'x': shape \[3\]"),
    ],
)
def test_check_inputs_rejects(inputs: dict[str, np.ndarray], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        check_inputs(inputs, SPECS)
