"""Each service serves gRPC health and reflection, and liveness, readiness and metrics over HTTP."""

from __future__ import annotations

import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

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
