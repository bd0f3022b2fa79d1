"""AccessService's RPCs (API tokens; served by the tracking service)."""

from __future__ import annotations

from switchyard.proto.v1 import access_pb2 as pb
from switchyard.proto.v1 import access_pb2_grpc
from switchyard.sdk.rpcs import Rpc, Service

SERVICE = Service("tracking", access_pb2_grpc.AccessServiceStub)

CREATE_TOKEN = Rpc(SERVICE, "CreateToken", pb.CreateTokenRequest, pb.CreateTokenResponse)
LIST_TOKENS = Rpc(SERVICE, "ListTokens", pb.ListTokensRequest, pb.ListTokensResponse, retry=True)
REVOKE_TOKEN = Rpc(
    SERVICE, "RevokeToken", pb.RevokeTokenRequest, pb.RevokeTokenResponse, retry=True
)
WHO_AM_I = Rpc(SERVICE, "WhoAmI", pb.WhoAmIRequest, pb.WhoAmIResponse, retry=True)
SEARCH_AUDIT = Rpc(
    SERVICE, "SearchAudit", pb.SearchAuditRequest, pb.SearchAuditResponse, retry=True
)
