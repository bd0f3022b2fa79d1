"""The gateway's records: rows as the store reads them, and their protobuf form."""

from __future__ import annotations

from dataclasses import dataclass, field

from switchyard.proto.v1 import gateway_pb2 as pb
from switchyard.proto.v1 import inference_pb2 as ipb

STATES = {
    "PENDING": pb.DEPLOYMENT_PENDING,
    "READY": pb.DEPLOYMENT_READY,
    "IDLE": pb.DEPLOYMENT_IDLE,
    "FAILED": pb.DEPLOYMENT_FAILED,
}
# Roles that serve traffic; "next" is a replacement getting ready, "retired" drains.
SERVING_ROLES = ("stable", "canary", "shadow")


@dataclass
class RevisionRow:
    revision: int
    role: str  # stable canary shadow next retired
    model_uri: str
    resolved_uri: str
    model_name: str = ""
    model_version: str = ""
    percent: float = 0.0
    created_ms: int = 0


@dataclass
class ReplicaRow:
    job_id: str
    revision: int
    state: str  # starting ready draining
    http_address: str = ""
    grpc_address: str = ""
    metadata: ipb.ModelMetadataResponse | None = None
    created_ms: int = 0
    ready_ms: int = 0


@dataclass
class DeploymentRow:
    name: str
    spec: pb.DeploymentSpec
    state: str
    message: str = ""
    created_ms: int = 0
    updated_ms: int = 0
    revisions: list[RevisionRow] = field(default_factory=list)
    replicas: list[ReplicaRow] = field(default_factory=list)


def revision(row: RevisionRow) -> pb.Revision:
    return pb.Revision(
        revision=row.revision,
        role=row.role,
        model_uri=row.model_uri,
        model_name=row.model_name,
        model_version=row.model_version,
        percent=row.percent,
    )


def replica(row: ReplicaRow) -> pb.Replica:
    return pb.Replica(
        job_id=row.job_id,
        revision=row.revision,
        state=row.state,
        http_address=row.http_address,
        grpc_address=row.grpc_address,
        created_ms=row.created_ms,
        ready_ms=row.ready_ms,
    )


def deployment(row: DeploymentRow) -> pb.Deployment:
    """What is stored of a deployment (the live figures are added by its owner)."""
    return pb.Deployment(
        name=row.name,
        spec=row.spec,
        state=STATES.get(row.state, pb.DEPLOYMENT_STATE_UNSPECIFIED),
        message=row.message,
        revisions=[revision(r) for r in row.revisions],
        replicas=[replica(r) for r in row.replicas],
        created_ms=row.created_ms,
        updated_ms=row.updated_ms,
    )
