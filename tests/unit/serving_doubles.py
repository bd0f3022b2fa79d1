"""Test doubles for the serving SDK's unit tests: its transport at the boundary
(records requests, answers canned replies) and a deployment as the gateway reports it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from switchyard.core.config import Settings
from switchyard.proto.v1 import gateway_pb2 as pb
from switchyard.sdk.endpoints import Endpoints
from switchyard.sdk.interceptors import Chain
from switchyard.sdk.rpcs import Rpc
from switchyard.sdk.serving import deployments

GATEWAY_URL = "http://127.0.0.1:7606"


class FakeTransport:
    """The SDK's Transport at its boundary: records requests, answers from `replies`."""

    def __init__(self, replies: dict[str, Callable[[Any], Any]] | None = None) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.replies = replies or {}
        self.settings = Settings()
        self.endpoints = Endpoints(
            grpc={"gateway": "127.0.0.1:7605", "inference": "127.0.0.1:7607"},
            http={"gateway": GATEWAY_URL},
        )
        self.chain = Chain([])
        self.tls = None  # plaintext, as Transport.tls when the platform has no TLS

    def send(self, rpc: Rpc[Any, Any], request: Any) -> Any:
        self.sent.append((rpc.name, request))
        if rpc.name in self.replies:
            return self.replies[rpc.name](request)
        if rpc.name in ("CreateDeployment", "UpdateDeployment"):
            return rpc.response(deployment=pb.Deployment(name=request.spec.name, spec=request.spec))
        return rpc.response()


def deployment_proto(state: int = pb.DEPLOYMENT_READY, message: str = "") -> pb.Deployment:
    spec = deployments.specs.build(
        "models:/fraud@champion", min_replicas=1, max_replicas=4, canary="models:/fraud/4"
    )
    spec.canary_percent = 10
    return pb.Deployment(
        name="fraud",
        spec=spec,
        state=state,  # type: ignore[arg-type]
        message=message,
        desired_replicas=3,
        observed_concurrency=5.5,
        revisions=[
            pb.Revision(revision=1, role="stable", model_uri="models:/fraud@champion",
                        model_name="fraud", model_version="2", percent=100, replicas=1,
                        ready_replicas=1),
            pb.Revision(revision=3, role="stable", model_uri="models:/fraud@champion",
                        model_name="fraud", model_version="3", percent=90, replicas=2,
                        ready_replicas=2, requests=900, errors=1, p99_ms=4.5),
            pb.Revision(revision=4, role="canary", model_uri="models:/fraud/4",
                        model_name="fraud", model_version="4", percent=10, replicas=1,
                        ready_replicas=1, requests=100, errors=2, p99_ms=7.0),
        ],
        replicas=[
            pb.Replica(job_id="j1", revision=3, state="ready", http_address="h:1",
                       grpc_address="h:2", in_flight=2, worker_id="w1", created_ms=1, ready_ms=2),
            pb.Replica(job_id="j2", revision=4, state="starting", worker_id="w2"),
        ],
    )  # fmt: skip
