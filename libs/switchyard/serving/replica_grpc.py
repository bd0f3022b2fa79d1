"""The replica's OIP gRPC service (inference.GRPCInferenceService) on a grpc.aio server.

Status codes: INVALID_ARGUMENT for a bad request, NOT_FOUND for an unknown
model or version, INTERNAL when the model raises, UNAVAILABLE while not ready.
Outputs go back as raw_output_contents when the request sent raw inputs (as
tritonclient does), as typed contents otherwise.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NoReturn

import grpc

from switchyard.proto.v1 import inference_pb2 as pb
from switchyard.serving import oip_grpc
from switchyard.serving.replica_rest import _version
from switchyard.serving.tensors import BadRequest, InferResponse, NotFoundError

if TYPE_CHECKING:
    from switchyard.serving.model import ServedModel
    from switchyard.serving.replica import Replica

log = logging.getLogger(__name__)

_UNLIMITED = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]


class InferenceServicer:
    def __init__(self, replica: Replica) -> None:
        from switchyard.serving.replica import NotReady

        self.replica = replica
        self._not_ready = NotReady

    async def _resolve(
        self, name: str, version: str, context: grpc.aio.ServicerContext
    ) -> ServedModel:
        try:
            return self.replica.resolve(name, version)
        except NotFoundError as exc:
            await _abort(context, grpc.StatusCode.NOT_FOUND, str(exc))
        except self._not_ready as exc:
            await _abort(context, grpc.StatusCode.UNAVAILABLE, str(exc))

    async def ServerLive(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return pb.ServerReadyResponse(ready=self.replica.ready)

    async def ServerMetadata(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return pb.ServerMetadataResponse(
            name="switchyard", version=_version(), extensions=["binary_tensor_data"]
        )

    async def ModelReady(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            self.replica.resolve(request.name, request.version)
        except NotFoundError as exc:
            await _abort(context, grpc.StatusCode.NOT_FOUND, str(exc))
        except self._not_ready:
            return pb.ModelReadyResponse(ready=False)
        return pb.ModelReadyResponse(ready=self.replica.ready)

    async def ModelMetadata(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        model = await self._resolve(request.name, request.version, context)
        return oip_grpc.metadata_to_proto(
            self.replica.name, [model.version], model.platform, model.inputs, model.outputs
        )

    async def ModelInfer(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        model = await self._resolve(request.model_name, request.model_version, context)
        replica = self.replica
        batcher = replica.batcher
        assert batcher is not None
        try:
            infer = oip_grpc.request_from_proto(request)
            model.check(infer.inputs)
        except BadRequest as exc:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        replica.begin()
        try:
            outputs = await batcher.infer(infer.inputs)
        except Exception as exc:
            log.warning("model raised", exc_info=True)
            message = f"model '{replica.name}' failed: {type(exc).__name__}: {exc}"
            await _abort(context, grpc.StatusCode.INTERNAL, message)
        finally:
            replica.end()
        response = InferResponse(replica.name, model.version, outputs, infer.id)
        try:
            return oip_grpc.response_to_proto(
                response, raw=bool(request.raw_input_contents), outputs=infer.outputs
            )
        except BadRequest as exc:
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))


async def _abort(
    context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str
) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("unreachable")  # abort raises


async def start_grpc(replica: Replica, host: str, port: int) -> tuple[grpc.aio.Server, int]:
    """A started grpc.aio server with the inference service; (server, bound port)."""
    server = grpc.aio.server(options=_UNLIMITED)
    oip_grpc.add_inference_service(server, InferenceServicer(replica))
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    return server, bound
