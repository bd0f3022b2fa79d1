"""The services a platform runs, by name, for `up`, `serve` and the test harness."""

from __future__ import annotations

import importlib

from switchyard.core.runner import ServiceSpec

# Start order: services that others call come first.
SERVICES = ("tracking", "registry", "scheduler", "web")


def spec(name: str) -> ServiceSpec:
    if name not in SERVICES:
        raise KeyError(f"unknown service '{name}'; one of: {', '.join(SERVICES)}")
    module = importlib.import_module(f"switchyard.services.{name}.main")
    return module.SPEC  # type: ignore[no-any-return]
