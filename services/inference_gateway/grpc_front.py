"""The OIP gRPC service of the gateway (`grpc.inference` in endpoints.json).

`inference.GRPCInferenceService`, as tritonclient and KServe clients call
it. ModelInfer reads the request for the model's name and version; raw tensors
go on to the replica over its REST hop in the binary form (grpc_bridge.py,
far cheaper than a second gRPC call), typed ones as the same bytes to the
replica's own OIP gRPC server. Answers and statuses come back unchanged.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

from switchyard.proto.v1 import inference_pb2 as ipb
from switchyard.services.inference_gateway import grpc_bridge
from switchyard.services.inference_gateway.dataplane import Router, Unavailable
from switchyard.services.inference_gateway.grpc_bridge import BridgeError
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
        rest = grpc_bridge.to_rest(request) if grpc_bridge.bridgeable(request) else None

        async def send(replica: ReplicaRoute) -> bytes | grpc.aio.AioRpcError | BridgeError:
            if rest is not None and replica.upstream is not None:
                path, headers, body = rest  # raw tensors: over the replica's REST hop
                answer = await replica.upstream.request("POST", path, headers, body)
                try:
                    return grpc_bridge.from_rest(*answer)
                except BridgeError as exc:
                    return exc
            try:
                reply: bytes = await replica.stub().ModelInfer(raw, timeout=timeout)
                return reply
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.UNAVAILABLE:
                    raise UpstreamError(exc.details() or "unavailable", sent=False) from exc
                return exc

        try:
            result = await self.router.forward(deployment, revision, send, _failed)
        except Unavailable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            raise
        if not request.model_version:
            self.router.mirror(deployment, send, lambda r: not isinstance(r, bytes))
        if isinstance(result, grpc.aio.AioRpcError):
            await context.abort(result.code(), result.details() or "")
        if isinstance(result, BridgeError):
            await context.abort(result.code, result.message)
        assert isinstance(result, bytes)
        return result


def _failed(result: object) -> bool:
    """Whether an answer counts as the model's or replica's failure (for the canary's judge)."""
    if isinstance(result, grpc.aio.AioRpcError):
        return result.code() in FAILURES
    return isinstance(result, BridgeError) and result.code in FAILURES
