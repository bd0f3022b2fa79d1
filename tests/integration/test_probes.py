"""Each service serves gRPC health and reflection, and liveness, readiness and metrics over HTTP."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from switchyard.core.probes import ProbeServer
from switchyard.testing import LocalPlatform


def test_grpc_health(switchyard_platform: LocalPlatform) -> None:
    with grpc.insecure_channel(switchyard_platform.bound["tracking"].grpc) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "switchyard.v1.TrackingService"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_http_probes_and_metrics(switchyard_platform: LocalPlatform, switchyard_client) -> None:  # type: ignore[no-untyped-def]
    switchyard_client.search_experiments()
    base = switchyard_platform.bound["tracking"].http
    for path in ("/livez", "/readyz"):
        with urllib.request.urlopen(base + path, timeout=5) as reply:
            assert reply.status == 200
    with urllib.request.urlopen(base + "/metrics", timeout=5) as reply:
        text = reply.read().decode()
    assert (
        'switchyard_rpc_total{code="OK",method="/switchyard.v1.TrackingService/SearchExperiments"}'
        in text
    )
    assert "switchyard_outbox_backlog" in text
    assert "switchyard_db_pool_connections" in text


def _own_address() -> str | None:
    """This machine's address on its first non-loopback interface, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: it picks a route
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_metrics_answer_loopback_only_unless_made_public() -> None:
    address = _own_address()
    if address is None:
        pytest.skip("this machine has no address but loopback to call from")

    async def ready() -> str:
        return ""

    def get(url: str) -> int:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code

    async def run(public: bool) -> tuple[int, int, int]:
        async with ProbeServer("0.0.0.0", 0, ready, metrics_public=public) as server:
            here, there = f"http://127.0.0.1:{server.port}", f"http://{address}:{server.port}"
            return await asyncio.to_thread(
                lambda: (get(here + "/metrics"), get(there + "/metrics"), get(there + "/livez"))
            )

    assert asyncio.run(run(public=False)) == (200, 403, 200)
    assert asyncio.run(run(public=True)) == (200, 200, 200)
