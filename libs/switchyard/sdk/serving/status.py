"""What a deployment reports: its state, its revisions (one model version in one
role each), its canary and its replicas, as small frozen values."""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.proto.v1 import gateway_pb2 as pb

STATES = {
    pb.DEPLOYMENT_PENDING: "PENDING",
    pb.DEPLOYMENT_READY: "READY",
    pb.DEPLOYMENT_IDLE: "IDLE",
    pb.DEPLOYMENT_FAILED: "FAILED",
}


@dataclass(frozen=True)
class Revision:
    """One model version the deployment serves, in one role ("stable", "canary", "shadow")."""

    revision: int
    role: str
    model_uri: str
    model_name: str
    version: str
    percent: float
    replicas: int  # asked for
    ready_replicas: int
    requests: int  # since its rollout began
    errors: int
    p99_ms: float

    @classmethod
    def from_proto(cls, r: pb.Revision) -> Revision:
        return cls(
            revision=r.revision,
            role=r.role,
            model_uri=r.model_uri,
            model_name=r.model_name,
            version=r.model_version,
            percent=r.percent,
            replicas=r.replicas,
            ready_replicas=r.ready_replicas,
            requests=r.requests,
            errors=r.errors,
            p99_ms=r.p99_ms,
        )


@dataclass(frozen=True)
class Canary:
    model_uri: str
    version: str
    percent: float
    requests: int
    errors: int
    p99_ms: float


@dataclass(frozen=True)
class ReplicaInfo:
    """One replica: a scheduler job serving one revision."""

    job_id: str
    revision: int
    state: str  # "starting", "ready", "draining"
    http_address: str
    grpc_address: str
    in_flight: int
    worker_id: str
    created_ms: int
    ready_ms: int

    @classmethod
    def from_proto(cls, r: pb.Replica) -> ReplicaInfo:
        return cls(
            job_id=r.job_id,
            revision=r.revision,
            state=r.state,
            http_address=r.http_address,
            grpc_address=r.grpc_address,
            in_flight=r.in_flight,
            worker_id=r.worker_id,
            created_ms=r.created_ms,
            ready_ms=r.ready_ms,
        )
