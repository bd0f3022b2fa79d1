"""The serving SDK without a platform: deploy()'s spec, Deployment from its proto,
sy.predict's requests (fake gateway at the transport boundary), and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
import numpy as np
import pandas as pd
import pytest
from serving_doubles import GATEWAY_URL, FakeTransport, deployment_proto

from switchyard.core.config import Settings
from switchyard.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from switchyard.proto.v1 import gateway_pb2 as pb
from switchyard.proto.v1 import inference_pb2
from switchyard.sdk.endpoints import Endpoints
from switchyard.sdk.rpcs import Rpc
from switchyard.sdk.rpcs import gateway as rpcs
from switchyard.sdk.serving import Deployment, deployments, predictions, specs
from switchyard.serving import oip_grpc
from switchyard.serving.tensors import InferResponse, TensorSpec


@pytest.fixture
def transport(monkeypatch: pytest.MonkeyPatch) -> FakeTransport:
    fake = FakeTransport()
    monkeypatch.setattr(deployments, "transport_for", lambda settings=None: fake)
    return fake


def sent_spec(transport: FakeTransport) -> pb.DeploymentSpec:
    ((name, request),) = transport.sent
    assert name == "CreateDeployment"
    spec: pb.DeploymentSpec = request.spec
    return spec


# -- RPCs ---------------------------------------------------------------------------------


def test_rpcs_match_the_proto() -> None:
    service = pb.DESCRIPTOR.services_by_name["InferenceGatewayService"]
    found = {v.name: v for v in vars(rpcs).values() if isinstance(v, Rpc)}
    assert set(found) == {m.name for m in service.methods} - {"RegisterReplica"}
    for method in service.methods:
        if method.name in found:
            assert found[method.name].request.DESCRIPTOR is method.input_type
            assert found[method.name].response.DESCRIPTOR is method.output_type
    assert rpcs.GET_DEPLOYMENT.retry and not rpcs.CREATE_DEPLOYMENT.retry


# -- deploy(): arguments -> DeploymentSpec ------------------------------------------------


def test_deploy_defaults(transport: FakeTransport) -> None:
    dep = deployments.deploy("models:/fraud@champion")
    spec = sent_spec(transport)
    assert spec.name == "fraud" and spec.model_uri == "models:/fraud@champion"
    assert (spec.min_replicas, spec.max_replicas) == (1, 1)
    assert spec.target_concurrency == 8 and spec.max_batch_size == 1
    assert spec.resources.cpus == 1 and spec.resources.memory_mb == 0
    assert not spec.canary_model_uri and not spec.shadow_model_uri and spec.canary_percent == 0
    assert not spec.HasField("rollout") and not spec.HasField("autoscaling")
    assert isinstance(dep, Deployment) and dep.name == "fraud"


def test_deploy_maps_every_argument(transport: FakeTransport) -> None:
    deployments.deploy(
        "models:/fraud/3",
        "fraud-v3",
        min_replicas=0,
        max_replicas=4,
        target_concurrency=2.5,
        cpus=2,
        memory="2Gi",
        gpus=1,
        gpu_type="h100",
        pool="gpu",
        queue="serving",
        priority=5,
        max_batch_size=16,
        max_batch_delay_ms=2.5,
        canary="models:/fraud/4",
        canary_percent=10,
        shadow="runs:/abc/model",
        rollout=dict(
            min_requests=100,
            max_error_rate_margin=0.02,
            max_p99_margin=0.5,
            promote_after_requests=1000,
        ),
        autoscaling=dict(
            stable_window_s=30,
            panic_window_s=3,
            panic_threshold=2.5,
            scale_to_zero_grace_s=10,
            max_buffered_requests=64,
            buffer_timeout_s=5,
        ),
    )
    spec = sent_spec(transport)
    assert spec.name == "fraud-v3" and spec.model_uri == "models:/fraud/3"
    assert (spec.min_replicas, spec.max_replicas, spec.target_concurrency) == (0, 4, 2.5)
    r = spec.resources
    assert (r.cpus, r.memory_mb, r.gpus, r.gpu_type) == (2, 2048, 1, "h100")
    assert (spec.pool, spec.queue, spec.priority) == ("gpu", "serving", 5)
    assert (spec.max_batch_size, spec.max_batch_delay_ms) == (16, 2.5)
    assert (spec.canary_model_uri, spec.canary_percent) == ("models:/fraud/4", 10)
    assert spec.shadow_model_uri == "runs:/abc/model"
    ro = spec.rollout
    assert (ro.min_requests, ro.promote_after_requests) == (100, 1000)
    assert ro.HasField("max_error_rate_margin") and ro.max_error_rate_margin == 0.02
    assert ro.max_p99_margin == 0.5
    a = spec.autoscaling
    assert (a.stable_window_s, a.panic_window_s, a.panic_threshold) == (30, 3, 2.5)
    assert (a.scale_to_zero_grace_s, a.max_buffered_requests, a.buffer_timeout_s) == (10, 64, 5)


@pytest.mark.parametrize(
    ("memory", "mb"),
    [(None, 0), (300, 300), ("512Mi", 512), ("512M", 512), ("2Gi", 2048), ("1G", 1024)],
)
def test_memory_sizes(transport: FakeTransport, memory: Any, mb: int) -> None:
    deployments.deploy("models:/m/1", memory=memory)
    assert sent_spec(transport).resources.memory_mb == mb


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        ("models:/fraud@champion", "fraud"),
        ("models:/fraud/3", "fraud"),
        ("models:/fraud", "fraud"),
        ("models:/Fraud_Detector@prod", "fraud-detector"),
        ("runs:/0a1b2c/model", "model"),
        ("runs:/0a1b2c/models/My.Classifier/", "my-classifier"),
    ],
)
def test_name_derived_from_the_uri(uri: str, name: str) -> None:
    assert specs.derive_name(uri) == name


def test_max_replicas_follows_min_replicas(transport: FakeTransport) -> None:
    deployments.deploy("models:/m/1", min_replicas=3)
    assert sent_spec(transport).max_replicas == 3


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model_uri": "s3://bucket/model"}, "model_uri"),
        ({"model_uri": "models:/"}, "model_uri"),
        ({"model_uri": 3}, "model_uri"),
        ({"name": "Fraud"}, "name"),
        ({"name": "-fraud"}, "name"),
        ({"name": "a" * 64}, "name"),
        ({"model_uri": "models:/@x"}, "name"),
        ({"min_replicas": -1}, "min_replicas"),
        ({"min_replicas": 1.5}, "min_replicas"),
        ({"min_replicas": True}, "min_replicas"),
        ({"max_replicas": 0}, "max_replicas"),
        ({"min_replicas": 3, "max_replicas": 2}, "max_replicas"),
        ({"target_concurrency": 0}, "target_concurrency"),
        ({"cpus": -1}, "cpus"),
        ({"cpus": "two"}, "cpus"),
        ({"memory": "lots"}, "memory"),
        ({"memory": -5}, "memory"),
        ({"gpus": -1}, "gpus"),
        ({"gpu_type": 7}, "gpu_type"),
        ({"pool": 1}, "pool"),
        ({"max_batch_size": 0}, "max_batch_size"),
        ({"max_batch_delay_ms": -1}, "max_batch_delay_ms"),
        ({"canary": "bad"}, "canary"),
        ({"canary_percent": 10}, "canary_percent"),
        ({"canary": "models:/m/2", "canary_percent": 101}, "canary_percent"),
        ({"shadow": "bad"}, "shadow"),
        ({"rollout": {"min_request": 1}}, "rollout.min_request"),
        ({"rollout": {"max_p99_margin": -0.5}}, "rollout.max_p99_margin"),
        ({"rollout": [1]}, "rollout"),
        ({"autoscaling": {"max_buffered_requests": 1.5}}, "autoscaling.max_buffered_requests"),
        ({"max_replicas": 2**40}, None),
    ],
)
def test_bad_arguments_fail_before_any_call(
    transport: FakeTransport, kwargs: dict[str, Any], field: str | None
) -> None:
    uri = kwargs.pop("model_uri", "models:/m/1")
    with pytest.raises(InvalidArgument) as info:
        deployments.deploy(uri, **kwargs)
    assert info.value.field == field
    assert transport.sent == []


# -- Deployment from its proto ------------------------------------------------------------


def test_deployment_reads_its_proto() -> None:
    dep = Deployment(deployment_proto(), FakeTransport())  # type: ignore[arg-type]
    assert dep.name == "fraud" and dep.model_uri == "models:/fraud@champion"
    assert dep.state == "READY" and dep.version == "3"  # the newest stable revision
    assert dep.replicas == 2 and dep.desired_replicas == 3
    assert dep.url == f"{GATEWAY_URL}/v2/models/fraud"
    canary = dep.canary
    assert canary is not None
    assert (canary.model_uri, canary.version, canary.percent) == ("models:/fraud/4", "4", 10)
    assert (canary.requests, canary.errors, canary.p99_ms) == (100, 2, 7.0)
    assert [r.job_id for r in dep.replica_list] == ["j1", "j2"]
    first = dep.replica_list[0]
    assert (first.state, first.in_flight, first.grpc_address) == ("ready", 2, "h:2")
    with pytest.raises(AttributeError):
        first.state = "x"  # type: ignore[misc]
    assert [r.role for r in dep.revisions] == ["stable", "stable", "canary"]
    text = repr(dep)
    assert "fraud" in text and "v3" in text and "READY" in text and "10%" in text


def test_deployment_without_revisions() -> None:
    proto = pb.Deployment(name="m", state=pb.DEPLOYMENT_PENDING)
    transport = FakeTransport()
    transport.endpoints = Endpoints()
    dep = Deployment(proto, transport)  # type: ignore[arg-type]
    assert (dep.state, dep.version, dep.replicas, dep.canary, dep.url) == (
        "PENDING",
        None,
        0,
        None,
        None,
    )
    assert "PENDING" in repr(dep)


def _states(*protos: pb.Deployment) -> FakeTransport:
    queue = list(protos)

    def get(_: Any) -> pb.GetDeploymentResponse:
        return pb.GetDeploymentResponse(deployment=queue.pop(0) if len(queue) > 1 else queue[0])

    return FakeTransport({"GetDeployment": get})


def test_wait_ready_polls_until_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deployments.time, "sleep", lambda s: None)
    pending = deployment_proto(pb.DEPLOYMENT_PENDING)
    transport = _states(pending, pending, deployment_proto())
    dep = Deployment(pending, transport)  # type: ignore[arg-type]
    assert dep.wait_ready(timeout=5).state == "READY"
    assert [n for n, _ in transport.sent] == ["GetDeployment"] * 3


def test_wait_ready_raises_on_failed_and_on_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deployments.time, "sleep", lambda s: None)
    failed = deployment_proto(pb.DEPLOYMENT_FAILED, "model cannot load: no such version")
    transport = _states(failed)
    with pytest.raises(FailedPrecondition, match="no such version"):
        Deployment(deployment_proto(pb.DEPLOYMENT_PENDING), transport).wait_ready()  # type: ignore[arg-type]
    pending = deployment_proto(pb.DEPLOYMENT_PENDING, "waiting for a worker")
    with pytest.raises(DeadlineExceeded, match="PENDING: waiting for a worker"):
        Deployment(pending, _states(pending)).wait_ready(timeout=0)  # type: ignore[arg-type]


def test_update_changes_only_the_given_fields() -> None:
    current = deployment_proto()
    transport = _states(current)
    dep = Deployment(current, transport)  # type: ignore[arg-type]
    dep.update(canary=None, max_batch_size=8, memory="1G")
    (first, _), (name, request) = transport.sent
    assert (first, name) == ("GetDeployment", "UpdateDeployment")
    spec = request.spec
    assert (spec.canary_model_uri, spec.canary_percent) == ("", 0)  # the canary's share went too
    assert (spec.max_batch_size, spec.resources.memory_mb) == (8, 1024)
    assert (spec.name, spec.model_uri, spec.max_replicas) == ("fraud", "models:/fraud@champion", 4)
    with pytest.raises(InvalidArgument) as info:
        dep.update(max_batch=8)
    assert info.value.field == "max_batch"
    assert len(transport.sent) == 2  # refused before reading the deployment again


def test_scale_rollback_promote_delete() -> None:
    transport = FakeTransport()
    dep = Deployment(deployment_proto(), transport)  # type: ignore[arg-type]
    dep.scale(min_replicas=6)
    dep = Deployment(deployment_proto(), transport)  # type: ignore[arg-type]
    dep.scale(max_replicas=2)
    dep.rollback()
    dep.promote()
    dep.delete()
    names = [n for n, _ in transport.sent]
    assert names == [
        "ScaleDeployment",
        "ScaleDeployment",
        "RollbackDeployment",
        "PromoteDeployment",
        "DeleteDeployment",
    ]
    first, second = transport.sent[0][1], transport.sent[1][1]
    assert (first.min_replicas, first.max_replicas) == (6, 6)
    assert (second.min_replicas, second.max_replicas) == (1, 2)
    with pytest.raises(InvalidArgument):
        dep.scale()
    with pytest.raises(InvalidArgument):
        Deployment(deployment_proto(), transport).scale(min_replicas=5, max_replicas=2)  # type: ignore[arg-type]


def test_list_deployments_reads_every_page(transport: FakeTransport) -> None:
    pages = {"": ("t1", ["a", "b"]), "t1": ("", ["c"])}

    def listing(request: pb.ListDeploymentsRequest) -> pb.ListDeploymentsResponse:
        token, names = pages[request.page_token]
        return pb.ListDeploymentsResponse(
            deployments=[pb.Deployment(name=n) for n in names], next_page_token=token
        )

    transport.replies["ListDeployments"] = listing
    assert [d.name for d in deployments.list_deployments()] == ["a", "b", "c"]
    with pytest.raises(InvalidArgument):
        deployments.get_deployment("")


# -- sy.predict: inputs -> ModelInferRequest ----------------------------------------------

ONE_INPUT = [TensorSpec("input-0", "FP32", [-1, 3])]
COLUMNS = [TensorSpec("age", "INT64", [-1]), TensorSpec("income", "FP64", [-1])]


def test_a_bare_array_goes_to_the_single_input_cast_to_its_datatype() -> None:
    arrays = predictions.as_arrays(np.arange(6, dtype=np.float64).reshape(2, 3), ONE_INPUT)
    assert list(arrays) == ["input-0"] and arrays["input-0"].dtype == np.float32
    nested = predictions.as_arrays([[1, 2, 3]], ONE_INPUT)
    assert nested["input-0"].dtype == np.float32 and nested["input-0"].shape == (1, 3)
    with pytest.raises(InvalidArgument, match="takes 2 inputs"):
        predictions.as_arrays(np.zeros(3), COLUMNS, "m")


def test_dict_and_dataframe_inputs() -> None:
    arrays = predictions.as_arrays({"age": [30, 40], "income": np.array([1, 2])}, COLUMNS)
    assert arrays["age"].dtype == np.int64 and arrays["income"].dtype == np.float64
    frame = pd.DataFrame({"age": [30, 40], "income": [1.5, 2.5]})
    arrays = predictions.as_arrays(frame, COLUMNS)
    assert list(arrays) == ["age", "income"] and arrays["age"].shape == (2,)
    # one tensor input whose name is no column: the frame's values as one 2-D tensor
    wide = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "c": [5.0, 6.0]})
    arrays = predictions.as_arrays(wide, ONE_INPUT)
    assert arrays["input-0"].shape == (2, 3) and arrays["input-0"].dtype == np.float32
    text = predictions.as_arrays({"s": pd.Series(["x", "y"])}, [])
    assert text["s"].dtype == object
    with pytest.raises(InvalidArgument):
        predictions.as_arrays({1: [1]}, COLUMNS)


def test_request_carries_raw_tensors() -> None:
    frame = pd.DataFrame({"age": [30, 40], "income": [1.5, 2.5]})
    request = oip_grpc.request_to_proto("m", predictions.as_arrays(frame, COLUMNS), [])
    assert [t.name for t in request.inputs] == ["age", "income"]
    assert [t.datatype for t in request.inputs] == ["INT64", "FP64"]
    assert len(request.raw_input_contents) == 2
    decoded = oip_grpc.request_from_proto(request).inputs
    np.testing.assert_array_equal(decoded["income"], [1.5, 2.5])


class FakeStub:
    def __init__(self, outputs: dict[str, np.ndarray]) -> None:
        self.outputs = outputs
        self.requests: list[inference_pb2.ModelInferRequest] = []
        self.metadata_calls = 0

    def ModelMetadata(self, request: Any, **_: Any) -> inference_pb2.ModelMetadataResponse:
        self.metadata_calls += 1
        return oip_grpc.metadata_to_proto(request.name, ["1"], "sklearn", ONE_INPUT, [])

    def ModelInfer(self, request: Any, **_: Any) -> inference_pb2.ModelInferResponse:
        self.requests.append(request)
        return oip_grpc.response_to_proto(InferResponse("m", "1", self.outputs))


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, np.ndarray]], FakeStub]:
    def install(outputs: dict[str, np.ndarray]) -> FakeStub:
        fake = FakeStub(outputs)
        client = predictions._Client(channel=None, stub=fake)  # type: ignore[arg-type]
        monkeypatch.setattr(predictions, "_client", lambda transport: client)
        return fake

    return install


def test_predict_returns_one_array_or_a_dict(
    transport: FakeTransport, stub: Callable[[dict[str, np.ndarray]], FakeStub]
) -> None:
    fake = stub({"y": np.array([1.0, 2.0])})
    y = predictions.predict("m", np.ones((2, 3)))
    assert isinstance(y, np.ndarray)
    np.testing.assert_array_equal(y, [1.0, 2.0])
    request = fake.requests[0]
    assert request.model_name == "m" and request.inputs[0].name == "input-0"
    assert request.inputs[0].datatype == "FP32" and list(request.inputs[0].shape) == [2, 3]
    predictions.predict("m", np.ones((1, 3)))
    assert fake.metadata_calls == 1  # read once per name
    two = stub({"label": np.array([1]), "proba": np.array([[0.2, 0.8]])})
    out = predictions.predict("m", np.ones((1, 3)))
    assert isinstance(out, dict) and set(out) == {"label", "proba"}
    assert isinstance(predictions.predict("m", np.ones((1, 3)), outputs="proba"), np.ndarray)
    assert [o.name for o in two.requests[-1].outputs] == ["proba"]
    dep = Deployment(pb.Deployment(name="m"), transport)  # type: ignore[arg-type]
    assert set(dep.predict(np.ones((1, 3)))) == {"label", "proba"}  # type: ignore[arg-type]


def test_no_inference_address_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHYARD_INFERENCE_ADDRESS", raising=False)
    transport = FakeTransport()
    transport.endpoints = Endpoints()
    with pytest.raises(Unavailable, match="SWITCHYARD_INFERENCE_ADDRESS"):
        predictions.address(transport)  # type: ignore[arg-type]
    monkeypatch.setenv("SWITCHYARD_INFERENCE_ADDRESS", "10.0.0.1:7607")
    transport.settings = Settings()
    assert predictions.address(transport) == "10.0.0.1:7607"  # type: ignore[arg-type]


class Servicer:
    """A replica-shaped OIP server: one FP32 input, its row sums out; model "bad" refuses."""

    def ModelMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.name == "ghost":
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown model 'ghost'")
        return oip_grpc.metadata_to_proto(request.name, ["1"], "sklearn", ONE_INPUT, [])

    def ModelInfer(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.model_name == "bad":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "input 'input-0': wrong shape")
        x = oip_grpc.request_from_proto(request).inputs["input-0"]
        return oip_grpc.response_to_proto(InferResponse(request.model_name, "1", {"y": x.sum(1)}))


def test_predict_over_real_grpc(transport: FakeTransport) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    oip_grpc.add_inference_service(server, Servicer())
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    transport.endpoints = Endpoints(grpc={"inference": f"127.0.0.1:{port}"})
    try:
        y = predictions.predict("m", [[1, 2, 3], [4, 5, 6]], timeout=5)
        assert isinstance(y, np.ndarray) and y.dtype == np.float32
        np.testing.assert_array_equal(y, [6, 15])
        with pytest.raises(InvalidArgument, match="wrong shape"):
            predictions.predict("bad", np.ones((1, 3)), timeout=5)
        with pytest.raises(NotFound, match="ghost"):
            predictions.predict("ghost", np.ones((1, 3)), timeout=5)
    finally:
        predictions.forget()
        server.stop(None)
