"""`inference.GRPCInferenceService` wired by hand: its methods, server handlers and stub.

No tensors here (no numpy): the gateway forwards ModelInfer as bytes and needs only
this; `oip_grpc` converts tensors for the replica and the SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from switchyard.proto.v1 import inference_pb2 as pb

SERVICE = "inference.GRPCInferenceService"

METHODS: dict[str, tuple[Any, Any]] = {
    "ServerLive": (pb.ServerLiveRequest, pb.ServerLiveResponse),
    "ServerReady": (pb.ServerReadyRequest, pb.ServerReadyResponse),
    "ModelReady": (pb.ModelReadyRequest, pb.ModelReadyResponse),
    "ServerMetadata": (pb.ServerMetadataRequest, pb.ServerMetadataResponse),
    "ModelMetadata": (pb.ModelMetadataRequest, pb.ModelMetadataResponse),
    "ModelInfer": (pb.ModelInferRequest, pb.ModelInferResponse),
}


def _handlers(servicer: object, raw_infer: bool) -> dict[str, grpc.RpcMethodHandler]:
    handlers = {}
    for method, (request, response) in METHODS.items():
        behaviour = getattr(servicer, method, None)
        if behaviour is None:
            continue  # UNIMPLEMENTED
        if raw_infer and method == "ModelInfer":
            handlers[method] = grpc.unary_unary_rpc_method_handler(behaviour)  # bytes both ways
        else:
            handlers[method] = grpc.unary_unary_rpc_method_handler(
                behaviour,
                request_deserializer=request.FromString,
                response_serializer=response.SerializeToString,
            )
    return handlers


def add_inference_service(server: Any, servicer: object) -> None:
    """Register `servicer`'s ServerLive ... ModelInfer (async methods taking and returning
    inference_pb2 messages) as inference.GRPCInferenceService on a grpc(.aio) server."""
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE, _handlers(servicer, False)),)
    )


def add_raw_inference_service(server: Any, servicer: object) -> None:
    """Like add_inference_service, but ModelInfer takes and returns serialized bytes (the
    gateway reads the model name and forwards the bytes untouched)."""
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE, _handlers(servicer, True)),)
    )


class InferenceStub:
    """Client of inference.GRPCInferenceService on a sync or aio channel."""

    ServerLive: Callable[..., Any]
    ServerReady: Callable[..., Any]
    ModelReady: Callable[..., Any]
    ServerMetadata: Callable[..., Any]
    ModelMetadata: Callable[..., Any]
    ModelInfer: Callable[..., Any]

    def __init__(self, channel: grpc.Channel | grpc.aio.Channel, *, raw_infer: bool = False):
        for method, (request, response) in METHODS.items():
            path = f"/{SERVICE}/{method}"
            if raw_infer and method == "ModelInfer":
                call = channel.unary_unary(path)
            else:
                call = channel.unary_unary(
                    path,
                    request_serializer=request.SerializeToString,
                    response_deserializer=response.FromString,
                )
            setattr(self, method, call)
