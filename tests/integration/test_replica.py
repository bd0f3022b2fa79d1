"""`python -m switchyard.serving.replica` against a real platform (registry, artifact store).

Only the gateway is a stand-in: a tiny InferenceGatewayService that records
RegisterReplica calls. The model, the registry and the stores are real, and the
replica is a real process spoken to over OIP REST and gRPC.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from conftest import require_module

import switchyard as sy
from switchyard.proto.v1 import gateway_pb2, gateway_pb2_grpc
from switchyard.proto.v1 import inference_pb2 as pb
from switchyard.sdk import fluent
from switchyard.serving import oip_grpc
from switchyard.testing import LocalPlatform

X = np.random.default_rng(3).random((20, 4)).astype(np.float32)


def flaky(x: Any) -> Any:
    """A plain Python model that raises on a negative first feature, and is slow on a big one."""
    x = np.asarray(x)
    if (x[:, 0] < 0).any():
        raise ValueError("negative first feature")
    if (x[:, 0] > 100).any():
        time.sleep(1.0)
    return x.sum(axis=1) * 2.0


class FakeGateway(gateway_pb2_grpc.InferenceGatewayServiceServicer):
    """Records RegisterReplica calls; `forget` makes it answer known=False."""

    def __init__(self) -> None:
        self.calls: list[gateway_pb2.RegisterReplicaRequest] = []
        self.forget: set[str] = set()
        self.lock = threading.Lock()

    def RegisterReplica(self, request: Any, context: Any) -> gateway_pb2.RegisterReplicaResponse:
        with self.lock:
            self.calls.append(request)
        return gateway_pb2.RegisterReplicaResponse(known=request.job_id not in self.forget)

    def of(self, job_id: str) -> list[gateway_pb2.RegisterReplicaRequest]:
        with self.lock:
            return [c for c in self.calls if c.job_id == job_id]

    def wait(self, job_id: str, stopping: bool = False, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [c for c in self.of(job_id) if c.stopping == stopping]
            if found:
                return found[0]
            time.sleep(0.02)
        raise AssertionError(f"no RegisterReplica(stopping={stopping}) from {job_id}")


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[FakeGateway, str]]:
    fake = FakeGateway()
    server = grpc.server(futures.ThreadPoolExecutor(4))
    gateway_pb2_grpc.add_InferenceGatewayServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield fake, f"127.0.0.1:{port}"
    server.stop(0)


@pytest.fixture(scope="module")
def models(switchyard_platform: LocalPlatform) -> Iterator[dict[str, tuple[str, Any]]]:
    """name -> (models:/ URI, the model object) for a sklearn, a torch and a raising model."""
    linear_model = require_module("sklearn.linear_model", "the `models` extra has it")
    torch = require_module("torch", "pip install torch, or the `torch` extra")
    y = X @ np.array([1.0, -2.0, 0.5, 3.0], dtype=np.float32) + 0.25
    linear = linear_model.LinearRegression().fit(X, y)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    suffix = os.urandom(4).hex()
    found = {}
    fluent.reset(switchyard_platform.client_settings())
    try:
        with sy.start_run():
            for kind, model in (("sklearn", linear), ("torch", net), ("flaky", flaky)):
                name = f"replica-{kind}-{suffix}"
                sy.log_model(model, kind, registered_model_name=name, input_example=X[:2])
                found[kind] = (f"models:/{name}/1", model)
    finally:
        fluent.reset()
    yield found


class ReplicaProcess:
    def __init__(self, home: Path, gateway: str, uri: str, name: str, log: Path, **env: str):
        self.job_id = f"job-{name}"
        self.name = name
        self.log = log
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
        self.env.update(
            SWITCHYARD_HOME=str(home),
            SWITCHYARD_REPLICA_DEPLOYMENT=name,
            SWITCHYARD_REPLICA_REVISION="3",
            SWITCHYARD_REPLICA_MODEL_URI=uri,
            SWITCHYARD_GATEWAY_ADDRESS=gateway,
            SWITCHYARD_JOB_ID=self.job_id,
            **env,
        )
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "switchyard.serving.replica"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=home,
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def replicas(
    switchyard_platform: LocalPlatform,
    gateway: tuple[FakeGateway, str],
    models: dict[str, tuple[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., tuple[ReplicaProcess, Any]]]:
    """start(kind, **env) -> (the replica process, its first registration)."""
    started: list[ReplicaProcess] = []
    logs = tmp_path_factory.mktemp("replicas")
    fake, address = gateway

    def start(kind: str, **env: str) -> tuple[ReplicaProcess, Any]:
        uri, _ = models[kind]
        name = f"{kind}-{len(started)}-{os.urandom(3).hex()}"
        home = switchyard_platform.settings.home
        replica = ReplicaProcess(home, address, uri, name, logs / f"{name}.log", **env)
        started.append(replica)
        try:
            return replica, fake.wait(replica.job_id)
        except AssertionError:
            raise AssertionError(replica.log.read_text()) from None

    yield start
    for replica in started:
        replica.stop()


def rest(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    conn.request(method, path, body=data, headers=headers or {})
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def connect(address: str) -> http.client.HTTPConnection:
    host, port = address.rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=30)


def infer_json(rows: np.ndarray, name: str = "input-0", datatype: str = "FP32") -> dict[str, Any]:
    return {
        "id": "r-1",
        "inputs": [
            {"name": name, "shape": list(rows.shape), "datatype": datatype, "data": rows.tolist()}
        ],
    }


def test_sklearn_replica_registers_and_serves_rest_and_grpc(
    replicas: Callable[..., tuple[ReplicaProcess, Any]], models: dict[str, tuple[str, Any]]
) -> None:
    replica, reg = replicas("sklearn")
    _, linear = models["sklearn"]
    expected = linear.predict(X[:5])
    # Registration carries where it listens and what the model takes and gives.
    assert reg.deployment == replica.name and reg.revision == 3 and not reg.stopping
    meta = reg.metadata
    assert meta.name == replica.name and list(meta.versions) == ["1"]
    assert meta.platform == "sklearn"
    assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [
        ("input-0", "FP32", [-1, 4])
    ]
    assert [t.name for t in meta.outputs] == ["predict"]

    conn = connect(reg.http_address)
    assert rest(conn, "GET", "/v2/health/live")[::2] == (200, b'{"live": true}')
    assert rest(conn, "GET", "/v2/health/ready")[0] == 200
    status, _, body = rest(conn, "GET", "/v2")
    assert status == 200 and json.loads(body)["extensions"] == ["binary_tensor_data"]
    status, _, body = rest(conn, "GET", f"/v2/models/{replica.name}/versions/1")
    assert status == 200 and json.loads(body)["inputs"][0]["shape"] == [-1, 4]
    assert rest(conn, "GET", f"/v2/models/{replica.name}/ready")[0] == 200

    # JSON in, JSON out.
    status, headers, body = rest(
        conn, "POST", f"/v2/models/{replica.name}/infer", infer_json(X[:5])
    )
    assert status == 200 and headers["content-type"] == "application/json", body
    doc = json.loads(body)
    assert doc["model_name"] == replica.name and doc["model_version"] == "1"
    assert doc["id"] == "r-1"
    (out,) = doc["outputs"]
    assert out["name"] == "predict" and out["shape"] == [5]
    np.testing.assert_array_equal(np.asarray(out["data"], dtype=expected.dtype), expected)

    # The binary tensor data extension, both ways (as tritonclient.http sends it).
    raw = X[:5].tobytes()
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "input-0",
                    "shape": [5, 4],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    status, headers, body = rest(
        conn,
        "POST",
        f"/v2/models/{replica.name}/versions/1/infer",
        header + raw,
        {"Inference-Header-Content-Length": str(len(header))},
    )
    assert status == 200 and headers["content-type"] == "application/octet-stream", body
    json_length = int(headers["inference-header-content-length"])
    (out,) = json.loads(body[:json_length])["outputs"]
    assert out["parameters"]["binary_data_size"] == len(body) - json_length
    got = np.frombuffer(body[json_length:], dtype=expected.dtype).reshape(out["shape"])
    np.testing.assert_array_equal(got, expected)

    # Bad requests: 400 with the protocol's error object, and the connection stays.
    path = f"/v2/models/{replica.name}/infer"
    for bad in (
        b"{not json",
        infer_json(X[:2, :3]),  # wrong shape
        infer_json(X[:2].astype(np.float64), datatype="FP64"),  # wrong datatype
        infer_json(X[:2], name="nope"),  # unknown input
        {"inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": [1]}]},
    ):
        status, _, body = rest(conn, "POST", path, bad)
        assert status == 400 and json.loads(body)["error"], (bad, body)
    # Unknown model or version: 404.
    assert rest(conn, "POST", "/v2/models/nope/infer", infer_json(X[:1]))[0] == 404
    status, _, body = rest(conn, "GET", f"/v2/models/{replica.name}/versions/9")
    assert status == 404 and "version" in json.loads(body)["error"]
    assert rest(conn, "GET", "/v2/nothing")[0] == 404
    conn.close()

    # gRPC with raw_input_contents, as tritonclient.grpc sends it.
    with grpc.insecure_channel(reg.grpc_address) as channel:
        stub = oip_grpc.InferenceStub(channel)
        assert stub.ServerLive(pb.ServerLiveRequest()).live
        assert stub.ServerReady(pb.ServerReadyRequest()).ready
        assert stub.ModelReady(pb.ModelReadyRequest(name=replica.name)).ready
        assert stub.ModelMetadata(pb.ModelMetadataRequest(name=replica.name)).platform == "sklearn"
        assert "binary_tensor_data" in stub.ServerMetadata(pb.ServerMetadataRequest()).extensions
        request = oip_grpc.request_to_proto(replica.name, {"input-0": X[:5]}, raw=True)
        assert request.raw_input_contents
        answer = stub.ModelInfer(request)
        assert answer.raw_output_contents and answer.model_version == "1"
        np.testing.assert_array_equal(oip_grpc.response_from_proto(answer)["predict"], expected)
        typed = stub.ModelInfer(
            oip_grpc.request_to_proto(replica.name, {"input-0": X[:5]}, raw=False)
        )
        np.testing.assert_array_equal(oip_grpc.response_from_proto(typed)["predict"], expected)
        for call, code in (
            (oip_grpc.request_to_proto(replica.name, {"input-0": X[:2, :3]}), "INVALID_ARGUMENT"),
            (oip_grpc.request_to_proto(replica.name, {"wrong": X[:2]}), "INVALID_ARGUMENT"),
            (oip_grpc.request_to_proto("nope", {"input-0": X[:2]}), "NOT_FOUND"),
            (
                oip_grpc.request_to_proto(replica.name, {"input-0": X[:2]}, model_version="7"),
                "NOT_FOUND",
            ),
        ):
            with pytest.raises(grpc.RpcError) as caught:
                stub.ModelInfer(call)
            assert caught.value.code().name == code
        with pytest.raises(grpc.RpcError) as caught:
            stub.ModelMetadata(pb.ModelMetadataRequest(name="nope"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    # SIGTERM: it says stopping, then exits 0.
    replica.proc.send_signal(signal.SIGTERM)
    assert replica.proc.wait(30) == 0, replica.log.read_text()


def test_torch_replica_outputs_match_the_model(
    replicas: Callable[..., tuple[ReplicaProcess, Any]],
    models: dict[str, tuple[str, Any]],
    gateway: tuple[FakeGateway, str],
) -> None:
    torch = require_module("torch", "pip install torch, or the `torch` extra")
    replica, reg = replicas("torch")
    _, net = models["torch"]
    with torch.no_grad():
        expected = net(torch.as_tensor(X[:6])).numpy()
    assert reg.metadata.platform == "pytorch"
    assert [(t.name, t.datatype, list(t.shape)) for t in reg.metadata.outputs] == [
        ("output-0", "FP32", [-1, 2])
    ]
    conn = connect(reg.http_address)
    status, _, body = rest(conn, "POST", f"/v2/models/{replica.name}/infer", infer_json(X[:6]))
    assert status == 200, body
    (out,) = json.loads(body)["outputs"]
    assert out["datatype"] == "FP32" and out["shape"] == [6, 2]
    got = np.asarray(out["data"], dtype=np.float32).reshape(out["shape"])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    conn.close()
    with grpc.insecure_channel(reg.grpc_address) as channel:
        answer = oip_grpc.InferenceStub(channel).ModelInfer(
            oip_grpc.request_to_proto(replica.name, {"input-0": X[:6]}, ["output-0"])
        )
    np.testing.assert_allclose(
        oip_grpc.response_from_proto(answer)["output-0"], expected, rtol=1e-6
    )
    # The gateway forgetting it (known=False) ends it too, with status 0.
    fake, _ = gateway
    fake.forget.add(replica.job_id)
    assert replica.proc.wait(30) == 0, replica.log.read_text()


def test_a_model_that_raises_gets_500_and_the_connection_stays_usable(
    replicas: Callable[..., tuple[ReplicaProcess, Any]], gateway: tuple[FakeGateway, str]
) -> None:
    # With batching on: the error reaches the request through the batcher's worker thread.
    replica, reg = replicas(
        "flaky", SWITCHYARD_REPLICA_MAX_BATCH_SIZE="8", SWITCHYARD_REPLICA_MAX_BATCH_DELAY_MS="2"
    )
    path = f"/v2/models/{replica.name}/infer"
    conn = connect(reg.http_address)
    bad = X[:2].copy()
    bad[0, 0] = -1
    status, _, body = rest(conn, "POST", path, infer_json(bad))
    assert status == 500 and "negative first feature" in json.loads(body)["error"]
    status, _, body = rest(conn, "POST", path, infer_json(X[:3]))  # same connection
    assert status == 200, body
    np.testing.assert_allclose(json.loads(body)["outputs"][0]["data"], flaky(X[:3]), rtol=1e-6)
    conn.close()
    with grpc.insecure_channel(reg.grpc_address) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            oip_grpc.InferenceStub(channel).ModelInfer(
                oip_grpc.request_to_proto(replica.name, {"input-0": bad})
            )
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    # SIGTERM with a request in flight: it says stopping, answers that request, exits 0.
    slow = X[:1].copy()
    slow[0, 0] = 1000
    answers: list[tuple[int, dict[str, str], bytes]] = []
    conn = connect(reg.http_address)
    client = threading.Thread(
        target=lambda: answers.append(rest(conn, "POST", path, infer_json(slow)))
    )
    client.start()
    time.sleep(0.3)
    replica.proc.send_signal(signal.SIGTERM)
    client.join(30)
    assert answers and answers[0][0] == 200, answers
    conn.close()
    fake, _ = gateway
    stopping = fake.wait(replica.job_id, stopping=True, timeout=30)
    assert stopping.deployment == replica.name
    assert replica.proc.wait(30) == 0, replica.log.read_text()
    log = replica.log.read_text()
    assert '"replica registered"' in log and '"replica stopped"' in log
