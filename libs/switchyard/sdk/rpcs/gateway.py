"""InferenceGatewayService's RPCs that clients make (replicas register with a stub of their own)."""

from __future__ import annotations

from switchyard.proto.v1 import gateway_pb2 as pb
from switchyard.proto.v1 import gateway_pb2_grpc
from switchyard.sdk.rpcs import Rpc, Service

SERVICE = Service("gateway", gateway_pb2_grpc.InferenceGatewayServiceStub)

CREATE_DEPLOYMENT = Rpc(
    SERVICE, "CreateDeployment", pb.CreateDeploymentRequest, pb.CreateDeploymentResponse
)
GET_DEPLOYMENT = Rpc(
    SERVICE, "GetDeployment", pb.GetDeploymentRequest, pb.GetDeploymentResponse, retry=True
)
LIST_DEPLOYMENTS = Rpc(
    SERVICE, "ListDeployments", pb.ListDeploymentsRequest, pb.ListDeploymentsResponse, retry=True
)
# A whole spec, or absolute replica bounds: sent twice, the same state.
UPDATE_DEPLOYMENT = Rpc(
    SERVICE,
    "UpdateDeployment",
    pb.UpdateDeploymentRequest,
    pb.UpdateDeploymentResponse,
    retry=True,
)
SCALE_DEPLOYMENT = Rpc(
    SERVICE, "ScaleDeployment", pb.ScaleDeploymentRequest, pb.ScaleDeploymentResponse, retry=True
)
# Not repeated: a second rollback or promote finds no canary and fails.
ROLLBACK_DEPLOYMENT = Rpc(
    SERVICE, "RollbackDeployment", pb.RollbackDeploymentRequest, pb.RollbackDeploymentResponse
)
PROMOTE_DEPLOYMENT = Rpc(
    SERVICE, "PromoteDeployment", pb.PromoteDeploymentRequest, pb.PromoteDeploymentResponse
)
DELETE_DEPLOYMENT = Rpc(
    SERVICE, "DeleteDeployment", pb.DeleteDeploymentRequest, pb.DeleteDeploymentResponse
)
