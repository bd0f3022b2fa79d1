"""A service is declared once, and everything else follows from its spec.

Checks that each spec is sound (its gRPC services exist, it starts after
what it calls, its setup and migrations are there) and that the places a
spec cannot generate are complete: the Kubernetes manifests, the ingress
route, the Tilt resource forwarding every port, and the README's ports
table. A throw-away service added under `switchyard.services` is found
by the catalog, served by the harness, found by the SDK, and flagged here
until its manifests exist.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import switchyard.services
from switchyard.core import service_spec
from switchyard.core.service_spec import ServiceSpec, catalog, start_order
from switchyard.proto.v1 import (
    access_pb2,
    gateway_pb2,
    registry_pb2,
    scheduler_pb2,
    tracking_pb2,
    tuner_pb2,
)
from switchyard.sdk.endpoints import discover

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "kubernetes" / "base"
DESCRIPTORS = (
    access_pb2.DESCRIPTOR,
    tracking_pb2.DESCRIPTOR,
    registry_pb2.DESCRIPTOR,
    scheduler_pb2.DESCRIPTOR,
    tuner_pb2.DESCRIPTOR,
    gateway_pb2.DESCRIPTOR,
)


def ports_of(spec: ServiceSpec) -> list[int]:
    ports = [spec.http_port, *(listener.port for listener in spec.listeners)]
    return ([spec.grpc_port] if spec.grpc_port is not None else []) + ports


def readme_rows(spec: ServiceSpec) -> list[str]:
    """The README's ports table rows for one spec."""
    if spec.grpc_port is None:
        rows = [f"| {spec.name} HTTP (health, metrics) | {spec.http_port} |"]
    else:
        rows = [
            f"| {spec.name} gRPC / HTTP (health, metrics) | {spec.grpc_port} / {spec.http_port} |"
        ]
    rows += [f"| {spec.name}: {lst.title or lst.endpoint} | {lst.port} |" for lst in spec.listeners]
    return rows


def missing_pieces(spec: ServiceSpec) -> list[str]:
    """What a service still lacks outside its folder; empty when complete."""
    missing = []
    folder = "services" if spec.role == "service" else "workers"
    manifest = BASE / folder / f"{spec.name}.yaml"
    if not manifest.exists():
        missing.append(f"deploy/kubernetes/base/{folder}/{spec.name}.yaml")
    kustomization = (BASE / folder / "kustomization.yaml").read_text()
    if not re.search(rf"^\s*- {re.escape(spec.name)}\.yaml\s*$", kustomization, re.MULTILINE):
        missing.append(f"an entry in deploy/kubernetes/base/{folder}/kustomization.yaml")
    ingress = (BASE / "ingress.yaml").read_text()
    for name in spec.grpc_services:
        if f"path: /{name}/" not in ingress:
            missing.append(f"an ingress route for /{name}/")
    tilt = (ROOT / "Tiltfile").read_text()
    resource = re.search(rf"k8s_resource\(\s*'{re.escape(spec.name)}'(.*?)\)\n", tilt, re.S)
    if resource is None:
        missing.append(f"a Tilt resource k8s_resource('{spec.name}', ...)")
    elif spec.role == "service":
        for port in ports_of(spec):
            if f"'{port}:{port}'" not in resource.group(1):
                missing.append(f"Tilt port forward {port}:{port} for {spec.name}")
    readme = (ROOT / "README.md").read_text()
    missing += [f"README ports row {row}" for row in readme_rows(spec) if row not in readme]
    return missing


@pytest.mark.parametrize("name", list(catalog()))
def test_every_service_is_complete_outside_its_folder(name: str) -> None:
    assert missing_pieces(catalog()[name]) == []


def test_the_catalog_has_the_platform() -> None:
    platform = {"tracking", "registry", "scheduler", "tuner", "gateway", "web", "trainer-worker"}
    assert set(catalog()) >= platform
    clients = [s.name for s in service_spec.client_services()]
    assert sorted(clients) == ["gateway", "registry", "scheduler", "tracking", "tuner"]


@pytest.mark.parametrize("name", list(catalog()))
def test_specs_are_sound(name: str) -> None:
    spec = catalog()[name]
    known = {s.full_name for d in DESCRIPTORS for s in d.services_by_name.values()}
    assert set(spec.grpc_services) <= known
    assert callable(spec.load_setup())
    if spec.migrations is not None:
        assert spec.migrations_dir is not None and any(spec.migrations_dir.glob("*.sql"))
    order = list(catalog())
    assert all(order.index(callee) < order.index(name) for callee in spec.calls)


def test_no_two_services_share_a_port() -> None:
    ports = [p for s in catalog().values() for p in ports_of(s)]
    assert len(ports) == len(set(ports))


def test_start_order_refuses_cycles_and_unknown_callees() -> None:
    a = ServiceSpec("a", 1, 2, "x:y", calls=("b",))
    b = ServiceSpec("b", 3, 4, "x:y", calls=("a",))
    with pytest.raises(ValueError, match="cycle"):
        start_order([a, b])
    with pytest.raises(ValueError, match="unknown"):
        start_order([a])


# -- a throw-away service: its folder and its spec are all it takes ------------

ECHO_SPEC = """
from switchyard.core.service_spec import ServiceSpec

SPEC = ServiceSpec(
    name="echo",
    grpc_port=7699,
    http_port=7698,
    setup="switchyard.services.echo.main:setup",
    grpc_services=("grpc.health.v1.Health",),
    needs=frozenset(),
    interceptors=("switchyard.services.echo.main:Deny",),
)
"""
ECHO_MAIN = """
import grpc


async def setup(runtime):
    runtime.server  # a gRPC server with health, from the runner


class Deny(grpc.aio.ServerInterceptor):
    # What authentication will be: a server interceptor named by the spec.
    async def intercept_service(self, continuation, details):
        if ("deny", "1") in (details.invocation_metadata or ()):
            async def refuse(request, context):
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, "denied")
            return grpc.unary_unary_rpc_method_handler(refuse)
        return await continuation(details)
"""


@pytest.fixture
def echo_service(tmp_path: Path) -> Iterator[ServiceSpec]:
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "spec.py").write_text(textwrap.dedent(ECHO_SPEC))
    (folder / "main.py").write_text(textwrap.dedent(ECHO_MAIN))
    switchyard.services.__path__.append(str(tmp_path))
    catalog.cache_clear()
    try:
        yield catalog()["echo"]
    finally:
        switchyard.services.__path__.remove(str(tmp_path))
        catalog.cache_clear()


def test_a_new_service_is_found_served_and_flagged(
    echo_service: ServiceSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from switchyard.testing.platform import Infrastructure, LocalPlatform

    assert echo_service.name in [s.name for s in service_spec.services()]
    missing = missing_pieces(echo_service)
    assert "deploy/kubernetes/base/services/echo.yaml" in missing
    assert any("Tilt resource" in m for m in missing)
    assert any("README ports row" in m for m in missing)
    # The harness serves it (no database or bus asked for, so none started).
    infra = Infrastructure(tmp_path / "infra")
    with LocalPlatform(infra, tmp_path / "home", services=("echo",)) as platform:
        found = discover(platform.client_settings())
        address = found.address("echo")
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="grpc.health.v1.Health"), timeout=5
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            with pytest.raises(grpc.RpcError) as refused:  # the spec's interceptor ran
                health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), metadata=(("deny", "1"),), timeout=5
                )
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # SWITCHYARD_ECHO_ADDRESS points the SDK elsewhere, as for every service.
        monkeypatch.setenv("SWITCHYARD_ECHO_ADDRESS", "elsewhere:1")
        from switchyard.core.config import Settings

        assert discover(Settings(home=platform.settings.home)).address("echo") == "elsewhere:1"
