"""The inference gateway end to end: registered models served by real replicas.

Replicas are scheduler jobs on a real `switchyard worker`; each loads its
model from the registry and the artifact store and serves the Open
Inference Protocol; requests go through the gateway's REST and gRPC
listeners, as `sy.predict`, plain HTTP and gRPC clients send them.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import grpc
import numpy as np
import pytest

import switchyard as sy
from switchyard import errors
from switchyard.core.config import Settings
from switchyard.proto.v1 import inference_pb2 as ipb
from switchyard.sdk import fluent
from switchyard.serving.oip_grpc import InferenceStub, request_to_proto, response_from_proto
from switchyard.testing.platform import LocalPlatform
from switchyard.testing.workers import WorkerProcess, new_pool

COEF = np.array([1.0, -2.0, 0.5, 3.0])
INTERCEPT = 0.25
X = np.random.default_rng(0).normal(size=(64, 4))


def linear(scale: float) -> object:
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(X, X @ (COEF * scale) + INTERCEPT)


def expected(rows: np.ndarray, scale: float = 1.0) -> np.ndarray:
    return rows @ (COEF * scale) + INTERCEPT


def broken(x: object) -> object:
    raise RuntimeError("this model always fails")


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("gw"), cpus=16)[0].pool


@pytest.fixture(scope="module")
def settings(switchyard_platform: LocalPlatform) -> Iterator[Settings]:
    settings = switchyard_platform.client_settings()
    fluent.reset(settings)
    yield settings
    fluent.reset()


@pytest.fixture(scope="module")
def model(settings: Settings) -> str:
    """A registered model: version 1 is y = X·c + b, version 2 is y = X·2c + b,
    version 3 raises; the alias `champion` names version 1."""
    name = f"gw-linear-{time.monotonic_ns() % 10**8}"
    with sy.start_run():
        sy.log_model(linear(1.0), "v1", registered_model_name=name, input_example=X[:2])
        sy.log_model(linear(2.0), "v2", registered_model_name=name, input_example=X[:2])
        sy.log_model(broken, "v3", registered_model_name=name, flavor="python_function")
    sy.Client(settings=settings).set_registered_model_alias(name, "champion", 1)
    return name


def rest(url: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("POST" if body is not None else "GET", path, body=body)
        answer = conn.getresponse()
        data = answer.read()
        return answer.status, json.loads(data) if data else {}
    finally:
        conn.close()


def oip_json(rows: np.ndarray, name: str = "input-0") -> bytes:
    tensor = {"name": name, "shape": list(rows.shape), "datatype": "FP64"}
    return json.dumps({"inputs": [{**tensor, "data": rows.ravel().tolist()}]}).encode()


def test_rest_grpc_and_sdk_answer_exactly(
    model: str, pool: str, settings: Settings, switchyard_platform: LocalPlatform
) -> None:
    deployment = sy.deploy(f"models:/{model}/1", "exact", pool=pool, settings=settings)
    deployment.wait_ready(timeout=60)
    assert deployment.state == "READY" and deployment.version == "1"
    rows = X[:3]

    # sy.predict: numpy in, numpy out, over OIP gRPC with raw tensors.
    np.testing.assert_allclose(sy.predict("exact", rows, settings=settings), expected(rows))

    # REST JSON, as any OIP client sends it.
    base = switchyard_platform.endpoints.http["gateway"]
    meta_status, meta = rest(base, "/v2/models/exact")
    assert meta_status == 200 and meta["name"] == "exact" and meta["versions"] == ["1"]
    input_name = meta["inputs"][0]["name"]
    status, body = rest(base, "/v2/models/exact/infer", oip_json(rows, input_name))
    assert status == 200, body
    np.testing.assert_allclose(body["outputs"][0]["data"], expected(rows))
    status, body = rest(base, "/v2/models/exact/versions/1/infer", oip_json(rows, input_name))
    assert status == 200, body

    # OIP gRPC, as a KServe/Triton client calls it.
    with grpc.insecure_channel(switchyard_platform.endpoints.grpc["inference"]) as channel:
        stub = InferenceStub(channel)
        assert stub.ServerLive(ipb.ServerLiveRequest()).live
        assert stub.ModelReady(ipb.ModelReadyRequest(name="exact")).ready
        answer = stub.ModelInfer(request_to_proto("exact", {input_name: rows}))
        (out,) = response_from_proto(answer).values()
        np.testing.assert_allclose(out, expected(rows))


def test_bad_requests_get_the_protocols_errors(
    model: str, pool: str, settings: Settings, switchyard_platform: LocalPlatform
) -> None:
    sy.deploy(f"models:/{model}/1", "strict", pool=pool, settings=settings).wait_ready(60)
    base = switchyard_platform.endpoints.http["gateway"]
    input_name = rest(base, "/v2/models/strict")[1]["inputs"][0]["name"]

    def tensor(name: str, data: list[float]) -> bytes:
        inputs = [{"name": name, "shape": [1, 4], "datatype": "FP64", "data": data}]
        return json.dumps({"inputs": inputs}).encode()

    cases = {
        b"{not json": 400,
        tensor(input_name, [1, 2, 3]): 400,  # 3 elements for a [1, 4] shape
        tensor("nope", [1, 2, 3, 4]): 400,  # no such input
    }
    for body, want in cases.items():
        status, answer = rest(base, "/v2/models/strict/infer", body)
        assert status == want and answer.get("error"), (body, status, answer)
    status, answer = rest(base, "/v2/models/no-such-model/infer", oip_json(X[:1], input_name))
    assert status == 404 and "no-such-model" in answer["error"]
    status, answer = rest(base, "/v2/models/strict/versions/9/infer", oip_json(X[:1], input_name))
    assert status == 404 and answer["error"]
    with grpc.insecure_channel(switchyard_platform.endpoints.grpc["inference"]) as channel:
        stub = InferenceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ModelInfer(request_to_proto("no-such-model", {input_name: X[:1]}))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as caught:
            stub.ModelInfer(request_to_proto("strict", {"nope": X[:1]}))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Control-plane mistakes change nothing.
    with pytest.raises(errors.InvalidArgument):
        sy.deploy(f"models:/{model}/1", "Bad_Name", pool=pool, settings=settings)
    with pytest.raises(errors.NotFound):
        sy.deploy(f"models:/{model}/99", "missing-version", pool=pool, settings=settings)
    with pytest.raises(errors.AlreadyExists):
        sy.deploy(f"models:/{model}/1", "strict", pool=pool, settings=settings)
    assert {d.name for d in sy.list_deployments(settings=settings)} >= {"strict"}
    assert "missing-version" not in {d.name for d in sy.list_deployments(settings=settings)}


def test_scale_from_zero_on_the_first_request(model: str, pool: str, settings: Settings) -> None:
    deployment = sy.deploy(
        f"models:/{model}/1", "sleepy", pool=pool, min_replicas=0, settings=settings
    )
    deployment.refresh()
    assert deployment.state in ("IDLE", "PENDING") and deployment.replicas == 0
    started = time.perf_counter()
    np.testing.assert_allclose(sy.predict("sleepy", X[:2], settings=settings), expected(X[:2]))
    cold = time.perf_counter() - started
    deployment.refresh()
    assert deployment.state == "READY" and deployment.replicas == 1, cold


def test_a_failing_canary_is_rolled_back(
    model: str, pool: str, settings: Settings, switchyard_platform: LocalPlatform
) -> None:
    deployment = sy.deploy(
        f"models:/{model}/1",
        "guarded",
        pool=pool,
        canary=f"models:/{model}/3",
        canary_percent=50,
        rollout={"min_requests": 10},
        settings=settings,
    )
    deployment.wait_ready(60)
    deadline = time.monotonic() + 60
    while deployment.canary is None or deployment.canary.requests == 0:
        try:  # the canary's replica starting is the wait; its answers fail
            sy.predict("guarded", X[:1], settings=settings)
        except errors.SwitchyardError:
            pass
        deployment.refresh()
        assert time.monotonic() < deadline, deployment
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            sy.predict("guarded", X[:1], settings=settings)
        except errors.SwitchyardError:
            pass
        deployment.refresh()
        if deployment.canary is None:
            break
    assert deployment.canary is None, deployment
    # Every request now goes to the stable version.
    for _ in range(10):
        np.testing.assert_allclose(sy.predict("guarded", X[:1], settings=settings), expected(X[:1]))


def test_canary_split_and_alias_rollout_without_a_failed_request(
    model: str, pool: str, settings: Settings
) -> None:
    deployment = sy.deploy(
        f"models:/{model}/1", "split", pool=pool,
        canary=f"models:/{model}/2", canary_percent=20, settings=settings,
    )  # fmt: skip
    deployment.wait_ready(60)
    deadline = time.monotonic() + 60
    while not any(r.role == "canary" and r.ready_replicas for r in deployment.revisions):
        time.sleep(0.2)
        deployment.refresh()
        assert time.monotonic() < deadline, deployment
    row = X[:1]
    v1, v2 = float(expected(row)[0]), float(expected(row, 2.0)[0])
    answers = [float(sy.predict("split", row, settings=settings)[0]) for _ in range(1000)]
    to_canary = sum(1 for a in answers if abs(a - v2) < 1e-9)
    assert sum(1 for a in answers if abs(a - v1) < 1e-9) + to_canary == 1000
    assert abs(to_canary / 1000 - 0.20) <= 0.05, to_canary

    # Deploy-on-alias: a deployment following @champion moves with the alias,
    # while a client keeps sending.
    follower = sy.deploy(f"models:/{model}@champion", "follower", pool=pool, settings=settings)
    follower.wait_ready(60)
    failures: list[BaseException] = []
    seen: set[float] = set()
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                seen.add(round(float(sy.predict("follower", row, settings=settings)[0]), 9))
            except BaseException as exc:  # every failure counts
                failures.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        time.sleep(0.5)
        sy.Client(settings=settings).set_registered_model_alias(model, "champion", 2)
        deadline = time.monotonic() + 60
        while round(v2, 9) not in seen or follower.version != "2" or len(follower.revisions) > 1:
            time.sleep(0.2)
            follower.refresh()
            assert time.monotonic() < deadline, follower
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
        sy.Client(settings=settings).set_registered_model_alias(model, "champion", 1)
    assert not failures, failures[:3]
    assert round(v1, 9) in seen
