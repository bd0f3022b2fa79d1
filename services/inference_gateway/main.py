"""Builds the inference gateway from settings; the shared runner runs it.

Besides the control plane on the runner's gRPC server, the gateway opens
the Open Inference Protocol's two listeners: REST on `settings.gateway_port`
and gRPC on `settings.inference_port` (the spec's defaults, 7606 and 7607;
0 when the test harness asks for free ports).
"""

from __future__ import annotations

import logging
import socket

import grpc

from switchyard.core.config import Settings
from switchyard.core.runner import Runtime, run
from switchyard.core.scheduler_client import Scheduler
from switchyard.core.tls import ServerTls
from switchyard.proto.v1 import gateway_pb2_grpc
from switchyard.services.inference_gateway.controller import Controller
from switchyard.services.inference_gateway.dataplane import RestFront, Router
from switchyard.services.inference_gateway.deployments import Deployments
from switchyard.services.inference_gateway.events import Follower
from switchyard.services.inference_gateway.grpc_front import MESSAGE_LIMITS, GrpcFront
from switchyard.services.inference_gateway.models import Models
from switchyard.services.inference_gateway.replicas import Launcher
from switchyard.services.inference_gateway.service import GatewayServicer
from switchyard.services.inference_gateway.spec import SPEC
from switchyard.services.inference_gateway.store import GatewayStore
from switchyard.serving.http import serve_http
from switchyard.serving.oip_service import add_raw_inference_service

log = logging.getLogger(__name__)


def listener_port(settings: Settings, value: int | None, default: int) -> int:
    if value is not None:
        return value
    return 0 if settings.http_port == 0 else default


def reachable(settings: Settings, bound: str) -> str:
    """Where replicas call the control plane: the configured address (a
    cluster's service name), else where it listens, made reachable."""
    configured = settings.address_for(SPEC.env_name)
    if configured:
        return configured
    host, _, port = bound.rpartition(":")
    if host in ("0.0.0.0", "[::]", "::"):
        host = settings.advertise_host or socket.gethostname()
    return f"{host}:{port}"


async def setup(runtime: Runtime) -> None:
    settings = runtime.settings
    store = GatewayStore(runtime.db, runtime.outbox)
    models = Models(settings)
    scheduler = Scheduler(settings)
    runtime.stack.push_async_callback(models.close)
    runtime.stack.push_async_callback(scheduler.close)
    launcher = Launcher(scheduler)
    deployments = Deployments(store, models, launcher)
    await deployments.load()
    controller = Controller(deployments, store, launcher)
    deployments.wake = controller.wake
    await Follower(deployments, controller).start(runtime.bus)
    gateway_pb2_grpc.add_InferenceGatewayServiceServicer_to_server(
        GatewayServicer(deployments), runtime.server
    )
    router = Router(deployments.routes, controller.wake)

    rest_port = listener_port(settings, settings.gateway_port, SPEC.listeners[0].port)
    tls = ServerTls.of(settings)  # REST asks no client certificate, as the web edge
    https = tls.ssl_context(client_auth=False) if tls is not None else None
    rest = await serve_http(RestFront(router), settings.host, rest_port, ssl=https)
    runtime.stack.push_async_callback(_close_server, rest)

    inference = grpc.aio.server(options=[("grpc.so_reuseport", 0), *MESSAGE_LIMITS])
    add_raw_inference_service(inference, GrpcFront(router))
    port = listener_port(settings, settings.inference_port, SPEC.listeners[1].port)
    address = f"{settings.host}:{port}"
    bound = (
        inference.add_secure_port(address, tls.grpc_credentials())
        if tls is not None
        else inference.add_insecure_port(address)
    )
    await inference.start()
    runtime.stack.push_async_callback(inference.stop, 1.0)

    async def close_routes() -> None:
        for route in list(deployments.routes.values()):
            await route.close()

    runtime.stack.push_async_callback(close_routes)
    runtime.on_bound(lambda bound: setattr(launcher, "gateway_address", reachable(settings, bound)))
    runtime.background(controller.run(), "gateway-controller")
    rest_address = rest.sockets[0].getsockname()
    log.info(
        "Open Inference Protocol listening",
        extra={"rest": f"{rest_address[0]}:{rest_address[1]}", "grpc": f"{settings.host}:{bound}"},
    )


async def _close_server(server: object) -> None:
    server.close()  # type: ignore[attr-defined]
    await server.wait_closed()  # type: ignore[attr-defined]


def main(settings: Settings | None = None) -> None:
    run(SPEC, settings)


if __name__ == "__main__":
    main()
