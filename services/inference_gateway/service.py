"""InferenceGatewayService over gRPC: decode the request, call the domain, answer."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from switchyard.core.ids import now_ms
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import gateway_pb2 as pb
from switchyard.proto.v1 import gateway_pb2_grpc as rpc
from switchyard.services.inference_gateway import validation
from switchyard.services.inference_gateway.deployments import Deployments

Ctx: TypeAlias = grpc.aio.ServicerContext
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class GatewayServicer(rpc.InferenceGatewayServiceServicer):
    def __init__(self, deployments: Deployments) -> None:
        self.deployments = deployments

    async def CreateDeployment(
        self, request: pb.CreateDeploymentRequest, context: Ctx
    ) -> pb.CreateDeploymentResponse:
        route = await self.deployments.create(request.spec)
        return pb.CreateDeploymentResponse(deployment=route.proto())

    async def GetDeployment(
        self, request: pb.GetDeploymentRequest, context: Ctx
    ) -> pb.GetDeploymentResponse:
        name = validation.name(request.name)
        return pb.GetDeploymentResponse(deployment=self.deployments.get(name).proto())

    async def ListDeployments(
        self, request: pb.ListDeploymentsRequest, context: Ctx
    ) -> pb.ListDeploymentsResponse:
        limit = request.max_results or DEFAULT_LIMIT
        if not 0 < limit <= MAX_LIMIT:
            raise InvalidArgument(f"max_results must be 1..{MAX_LIMIT}", field="max_results")
        # Names order the pages; the token is the last name of the previous page.
        names = sorted(n for n in self.deployments.routes if n > request.page_token)
        page = names[:limit]
        token = page[-1] if len(names) > limit else ""
        return pb.ListDeploymentsResponse(
            deployments=[self.deployments.routes[n].proto() for n in page],
            next_page_token=token,
        )

    async def UpdateDeployment(
        self, request: pb.UpdateDeploymentRequest, context: Ctx
    ) -> pb.UpdateDeploymentResponse:
        route = await self.deployments.update(request.spec)
        return pb.UpdateDeploymentResponse(deployment=route.proto())

    async def ScaleDeployment(
        self, request: pb.ScaleDeploymentRequest, context: Ctx
    ) -> pb.ScaleDeploymentResponse:
        name = validation.name(request.name)
        route = await self.deployments.scale(name, request.min_replicas, request.max_replicas)
        return pb.ScaleDeploymentResponse(deployment=route.proto())

    async def RollbackDeployment(
        self, request: pb.RollbackDeploymentRequest, context: Ctx
    ) -> pb.RollbackDeploymentResponse:
        route = await self.deployments.rollback(validation.name(request.name))
        return pb.RollbackDeploymentResponse(deployment=route.proto())

    async def PromoteDeployment(
        self, request: pb.PromoteDeploymentRequest, context: Ctx
    ) -> pb.PromoteDeploymentResponse:
        route = await self.deployments.promote(validation.name(request.name))
        return pb.PromoteDeploymentResponse(deployment=route.proto())

    async def DeleteDeployment(
        self, request: pb.DeleteDeploymentRequest, context: Ctx
    ) -> pb.DeleteDeploymentResponse:
        await self.deployments.delete(validation.name(request.name))
        return pb.DeleteDeploymentResponse()

    async def RegisterReplica(
        self, request: pb.RegisterReplicaRequest, context: Ctx
    ) -> pb.RegisterReplicaResponse:
        route = self.deployments.routes.get(request.deployment)
        revision = route.revisions.get(request.revision) if route is not None else None
        replica = revision.replicas.get(request.job_id) if revision is not None else None
        if route is None or revision is None or replica is None:
            return pb.RegisterReplicaResponse(known=False)
        if request.stopping:
            if replica.row.state == "ready":
                replica.row.state = "lost"
            revision.refresh()
            return pb.RegisterReplicaResponse(known=True)
        replica.registered(request.http_address, request.grpc_address)
        if replica.row.state in ("starting", "lost"):
            replica.row.state = "ready"
            if request.HasField("metadata"):
                replica.row.metadata = request.metadata
            if not replica.row.ready_ms:
                replica.row.ready_ms = now_ms()
            await self.deployments.store.replica_ready(replica.row)
            revision.refresh()
            self.deployments.wake()
        return pb.RegisterReplicaResponse(known=True)
