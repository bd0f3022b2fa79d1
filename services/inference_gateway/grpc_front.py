"""The OIP gRPC service of the gateway (`grpc.inference` in endpoints.json).

`inference.GRPCInferenceService`, as tritonclient and KServe clients call
it. ModelInfer reads the request only for the model's name and version and
forwards its bytes to a replica's own OIP gRPC server; the replica's answer
(or its status) comes back untouched.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

from switchyard.proto.v1 import inference_pb2 as ipb
from switchyard.services.inference_gateway.dataplane import Router, Unavailable
from switchyard.services.inference_gateway.routing import (
    DeploymentRoute,
    ReplicaRoute,
    RevisionRoute,
)
from switchyard.serving.upstream import UpstreamError

Ctx: TypeAlias = grpc.aio.ServicerContext
INFER_TIMEOUT_S = 60.0
# Tensors are big: as the SDK's channels allow, both ways and to the replicas.
MESSAGE_LIMITS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]
# Codes that say the model or the replica failed, not the caller's request.
FAILURES = {
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}


class GrpcFront:
    def __init__(self, router: Router) -> None:
        self.router = router

    async def _deployment(self, name: str, context: Ctx) -> DeploymentRoute:
        deployment = self.router.deployments.get(name)
        if deployment is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown model '{name}'")
        assert deployment is not None
        return deployment

    async def _revision(self, deployment: DeploymentRoute, version: str, ctx: Ctx) -> RevisionRoute:
        revision = deployment.choose(version) if version else deployment.role("stable")
        if revision is None:
            await ctx.abort(
                grpc.StatusCode.NOT_FOUND, f"model '{deployment.name}' has no version '{version}'"
            )
        assert revision is not None
        return revision

    async def ServerLive(self, request: ipb.ServerLiveRequest, context: Ctx) -> Any:
        return ipb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: ipb.ServerReadyRequest, context: Ctx) -> Any:
        return ipb.ServerReadyResponse(ready=True)

    async def ServerMetadata(self, request: ipb.ServerMetadataRequest, context: Ctx) -> Any:
        return ipb.ServerMetadataResponse(
            name="switchyard", version="1", extensions=["binary_tensor_data"]
        )

    async def ModelReady(self, request: ipb.ModelReadyRequest, context: Ctx) -> Any:
        deployment = await self._deployment(request.name, context)
        revision = await self._revision(deployment, request.version, context)
        return ipb.ModelReadyResponse(ready=bool(revision.ready()) or deployment.state == "IDLE")

    async def ModelMetadata(self, request: ipb.ModelMetadataRequest, context: Ctx) -> Any:
        deployment = await self._deployment(request.name, context)
        revision = await self._revision(deployment, request.version, context)
        try:
            meta = await self.router.metadata(deployment, revision)
        except Unavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            raise
        answer = ipb.ModelMetadataResponse(name=deployment.name, platform=meta.platform)
        answer.inputs.extend(meta.inputs)
        answer.outputs.extend(meta.outputs)
        answer.versions.extend(r.version for r in deployment.revisions.values() if r.version)
        return answer

    async def ModelInfer(self, raw: bytes, context: Ctx) -> bytes:
        request = ipb.ModelInferRequest.FromString(raw)
        deployment = await self._deployment(request.model_name, context)
        revision = deployment.choose(request.model_version)
        if revision is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"model '{deployment.name}' has no version '{request.model_version}'",
            )
        assert revision is not None
        timeout = context.time_remaining() or INFER_TIMEOUT_S

        async def send(replica: ReplicaRoute) -> bytes | grpc.aio.AioRpcError:
            try:
                answer: bytes = await replica.stub().ModelInfer(raw, timeout=timeout)
                return answer
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.UNAVAILABLE:
                    raise UpstreamError(exc.details() or "unavailable", sent=False) from exc
                return exc

        try:
            result = await self.router.forward(
                deployment,
                revision,
                send,
                lambda r: isinstance(r, grpc.aio.AioRpcError) and r.code() in FAILURES,
            )
        except Unavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            raise
        if not request.model_version:
            self.router.mirror(deployment, send, lambda r: not isinstance(r, bytes))
        if isinstance(result, grpc.aio.AioRpcError):
            await context.abort(result.code(), result.details() or "")
        assert isinstance(result, bytes)
        return result
