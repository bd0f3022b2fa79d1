"""A service is declared once: its `ServiceSpec`, in `services/<name>/spec.py`.

Everything that needs to know the services reads the catalog here: the
runner (what to open, which interceptors), `switchyard up` and the test
harness (start order, ports, extra listeners), the SDK's discovery (which
services clients call, `SWITCHYARD_<SERVICE>_ADDRESS`), the CLI, and the
checks that every service has its Kubernetes manifests, Tilt resource and
README row. Adding a service is: its folder, its proto, its spec.

Spec modules are data only (no imports beyond this module), so finding
the platform never imports a service's code; `setup` names the function
the runner imports when it serves the service.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any


class Need(Enum):
    """What the runner opens for a service before its setup runs."""

    DATABASE = "database"  # its own schema, migrated at start
    BUS = "bus"  # NATS with the events stream
    OUTBOX = "outbox"  # transactional outbox + relay (needs both)


ALL_NEEDS = frozenset(Need)


@dataclass(frozen=True)
class Listener:
    """A port a service serves besides gRPC and its probes.

    The web edge's MLflow REST API is one; a gateway's inference data plane
    another. `endpoint` is its key in endpoints.json (under `kind`), and
    `setting` the `Settings` field that carries its port to the process.
    """

    endpoint: str
    port: int
    setting: str
    kind: str = "http"  # "http" or "grpc"
    title: str = ""  # for the ports table: "MLflow REST API"

    def address(self, host: str, port: int, *, tls: bool = False) -> str:
        """As endpoints.json holds it: a URL for HTTP (https with `tls`), host:port for gRPC."""
        if self.kind != "http":
            return f"{host}:{port}"
        return f"{'https' if tls else 'http'}://{host}:{port}"


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # as in `switchyard serve NAME`, endpoints.json and the env
    grpc_port: int | None  # default gRPC port; None: no gRPC server (the worker)
    http_port: int  # default port of /livez, /readyz and /metrics
    setup: str  # "module:function" taking the Runtime
    # Full gRPC service names clients call here; empty: nothing for the SDK
    # to find (the web edge's gRPC port serves health only).
    grpc_services: tuple[str, ...] = ()
    needs: frozenset[Need] = ALL_NEEDS
    migrations: str | None = None  # package holding NNN_*.sql, e.g. "...tracking"
    listeners: tuple[Listener, ...] = ()
    calls: tuple[str, ...] = ()  # services it calls: they start first
    interceptors: tuple[str, ...] = ()  # "module:factory" of server interceptors
    uvloop: bool = True  # False for processes that spawn many children
    # `switchyard up` starts it per platform (a service) or not at all (a
    # worker, started on its own with pool options).
    role: str = "service"
    title: str = ""  # for the README's ports table

    @property
    def env_name(self) -> str:
        """The service's part of `SWITCHYARD_<NAME>_ADDRESS`."""
        return self.name.upper().replace("-", "_")

    @property
    def migrations_dir(self) -> Path | None:
        if self.migrations is None:
            return None
        module = importlib.import_module(self.migrations)
        return Path(module.__file__ or "").parent / "migrations"

    def endpoint_entries(
        self, grpc: str, probes: str, listeners: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Its entries in endpoints.json: (grpc, http) by name.

        `grpc` and `probes` are where it listens, `listeners` each extra
        listener's address by endpoint name. A listener named after the
        service takes its `http` key (`http.web` is the REST API) and the
        probes move beside it (`web-probes`).
        """
        grpc_map = {self.name: grpc} if grpc else {}
        http_map = {self.name: probes}
        for listener in self.listeners:
            address = listeners[listener.endpoint]
            if listener.kind == "grpc":
                grpc_map[listener.endpoint] = address
                continue
            if listener.endpoint == self.name:
                http_map[f"{self.name}-probes"] = probes
            http_map[listener.endpoint] = address
        return grpc_map, http_map

    def load_setup(self) -> Any:
        module, _, attr = self.setup.partition(":")
        return getattr(importlib.import_module(module), attr)

    def load_interceptors(self) -> list[Any]:
        found = []
        for path in self.interceptors:
            module, _, attr = path.partition(":")
            found.append(getattr(importlib.import_module(module), attr)())
        return found


@functools.cache
def catalog() -> dict[str, ServiceSpec]:
    """Every spec under `switchyard.services`, in start order (callees first)."""
    import switchyard.services

    specs = {}
    for info in pkgutil.iter_modules(switchyard.services.__path__):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"switchyard.services.{info.name}.spec")
        except ModuleNotFoundError as exc:
            if exc.name != f"switchyard.services.{info.name}.spec":
                raise
            continue
        spec: ServiceSpec = module.SPEC
        specs[spec.name] = spec
    return {name: specs[name] for name in start_order(specs.values())}


def start_order(specs: Iterable[ServiceSpec]) -> list[str]:
    """Names sorted so that every service comes after those it calls."""
    by_name = {s.name: s for s in specs}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise ValueError(f"services call each other in a cycle through {name!r}")
        visiting.add(name)
        for callee in by_name[name].calls:
            if callee not in by_name:
                raise ValueError(f"service {name!r} calls unknown service {callee!r}")
            visit(callee)
        visiting.discard(name)
        order.append(name)

    for name in sorted(by_name):
        visit(name)
    return order


def spec(name: str) -> ServiceSpec:
    try:
        return catalog()[name]
    except KeyError:
        raise KeyError(f"unknown service '{name}'; one of: {', '.join(catalog())}") from None


def services() -> list[ServiceSpec]:
    """The services a platform runs (not workers), in start order."""
    return [s for s in catalog().values() if s.role == "service"]


def client_services() -> list[ServiceSpec]:
    """The services the SDK calls by name (those with gRPC APIs of their own)."""
    return [s for s in services() if s.grpc_services]
