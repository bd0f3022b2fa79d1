"""Input rules for deployments, checked before anything changes; each failure names its field.

The checks every service shares live in `switchyard.core.validation`; these
are the gateway's: deployment names (also the OIP model name, so they appear
in URLs), the model URIs a deployment can serve, and the numbers of a spec.
Fields are named by their path in the request ("spec.autoscaling.panic_window_s").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from switchyard.core import validation as check
from switchyard.core.jobs import POOL_NAME
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import gateway_pb2

MAX_NAME = 63  # a DNS-1123 label, like Kubernetes object names
MAX_REPLICAS = 100
MAX_BATCH_SIZE = 4096
MAX_BATCH_DELAY_MS = 10_000.0
MAX_WINDOW_S = 3600.0  # Knative's upper bound for the stable window
MAX_BUFFERED = 100_000
MAX_URI = 4096
MAX_MODEL_NAME = 256  # the registry's limit
MAX_GPU_TYPE = 200
DEFAULT_STABLE_WINDOW_S = 60.0

_NAME = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
_ALIAS = re.compile(r"^[A-Za-z0-9_-]+$")
_VERSION = re.compile(r"^[1-9][0-9]{0,17}$")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_FORMS = "models:/<name>@<alias>, models:/<name>/<version> or runs:/<run id>/<path>"


@dataclass(frozen=True)
class ModelRef:
    """A parsed model URI: a registered version, an alias to follow, or a run's model."""

    uri: str
    name: str = ""  # the registered model; "" for runs:/
    alias: str = ""  # set: the deployment follows the alias
    version: int = 0  # set: a pinned version
    run_id: str = ""
    path: str = ""  # the model's folder in the run's artifacts


def name(value: str, field: str = "name") -> str:
    """A deployment name: a DNS-1123 label (it is the OIP model name, in URLs)."""
    if not value:
        raise InvalidArgument(f"{field} must not be empty", field=field)
    if len(value) > MAX_NAME or not _NAME.fullmatch(value):
        raise InvalidArgument(
            f"{field} {value[:80]!r} must be 1-{MAX_NAME} lowercase letters, digits or '-',"
            " starting with a letter and ending with a letter or digit",
            field=field,
        )
    return value


def model_uri(value: str, field: str = "model_uri") -> ModelRef:
    """One of the URIs a deployment can serve, parsed; anything else is InvalidArgument."""
    if not value:
        raise InvalidArgument(f"{field} must not be empty ({_FORMS})", field=field)
    check.text(value, field, MAX_URI)
    if value.startswith("models:/"):
        return _registered(value, field)
    if value.startswith("runs:/"):
        run_id, _, path = value.removeprefix("runs:/").partition("/")
        path = path.strip("/")
        if not _RUN_ID.fullmatch(run_id):
            raise _bad(value, field, f"the run id {run_id!r} is not 32 lowercase hex characters")
        if not path or ".." in path.split("/"):
            raise _bad(value, field, "expected runs:/<run id>/<path> with the model's folder")
        return ModelRef(value, run_id=run_id, path=path)
    raise _bad(value, field, f"expected {_FORMS}")


def _registered(value: str, field: str) -> ModelRef:
    rest = value.removeprefix("models:/")
    if "@" in rest:
        model, _, alias = rest.partition("@")
        _model_name(value, model, field)
        if not _ALIAS.fullmatch(alias):
            raise _bad(value, field, f"alias {alias!r} must be letters, digits, '_' or '-'")
        if alias.lower() == "latest":
            raise _bad(value, field, "'latest' is not an alias: pin a version or name an alias")
        return ModelRef(value, name=model, alias=alias)
    model, _, version = rest.rpartition("/")
    _model_name(value, model, field)
    if not _VERSION.fullmatch(version):
        raise _bad(
            value,
            field,
            f"version {version!r} is not a positive integer (a deployment serves a pinned"
            " version or follows an alias, not 'latest' or a stage)",
        )
    return ModelRef(value, name=model, version=int(version))


def _model_name(value: str, model: str, field: str) -> None:
    if not model.strip() or "/" in model:
        raise _bad(value, field, f"expected {_FORMS}")
    if len(model) > MAX_MODEL_NAME or any(ord(ch) < 32 for ch in model):
        raise _bad(value, field, f"model name {model[:40]!r}... is not a registered model name")


def _bad(value: str, field: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"{field} {value[:200]!r}: {why}", field=field)


def _finite(value: float, field: str) -> float:
    """Finite and >= 0."""
    return check.non_negative(value, field)


def _between(value: float, low: float, high: float, field: str) -> None:
    if math.isnan(value) or not low <= value <= high:
        raise InvalidArgument(f"{field} must be {low:g}..{high:g} (got {value})", field=field)


def _replicas(spec: gateway_pb2.DeploymentSpec) -> None:
    _between(spec.min_replicas, 0, MAX_REPLICAS, "spec.min_replicas")
    if spec.max_replicas:
        lowest = max(spec.min_replicas, 1)
        if not lowest <= spec.max_replicas <= MAX_REPLICAS:
            raise InvalidArgument(
                f"spec.max_replicas must be {lowest}..{MAX_REPLICAS}"
                f" (min_replicas is {spec.min_replicas}; got {spec.max_replicas})",
                field="spec.max_replicas",
            )
    _finite(spec.target_concurrency, "spec.target_concurrency")


def _placement(spec: gateway_pb2.DeploymentSpec) -> None:
    r = spec.resources
    _finite(r.cpus, "spec.resources.cpus")
    check.non_negative(r.memory_mb, "spec.resources.memory_mb")
    check.non_negative(r.gpus, "spec.resources.gpus")
    check.text(r.gpu_type, "spec.resources.gpu_type", MAX_GPU_TYPE)
    for knob in ("pool", "queue"):
        value = getattr(spec, knob)
        if value and not POOL_NAME.fullmatch(value):
            raise InvalidArgument(
                f"spec.{knob} {value[:80]!r} must be lowercase letters, digits, '_' or '-'",
                field=f"spec.{knob}",
            )


def _batching(spec: gateway_pb2.DeploymentSpec) -> None:
    _between(spec.max_batch_size, 0, MAX_BATCH_SIZE, "spec.max_batch_size")
    _between(spec.max_batch_delay_ms, 0, MAX_BATCH_DELAY_MS, "spec.max_batch_delay_ms")


def _traffic(spec: gateway_pb2.DeploymentSpec) -> None:
    _between(spec.canary_percent, 0, 100, "spec.canary_percent")
    if spec.canary_model_uri:
        model_uri(spec.canary_model_uri, "spec.canary_model_uri")
    elif spec.canary_percent > 0:
        raise InvalidArgument(
            f"spec.canary_percent is {spec.canary_percent:g} but no canary_model_uri is set",
            field="spec.canary_model_uri",
        )
    if spec.shadow_model_uri:
        model_uri(spec.shadow_model_uri, "spec.shadow_model_uri")
    r = spec.rollout
    if r.HasField("max_error_rate_margin"):
        _finite(r.max_error_rate_margin, "spec.rollout.max_error_rate_margin")
    if r.HasField("max_p99_margin"):
        _finite(r.max_p99_margin, "spec.rollout.max_p99_margin")
    check.non_negative(r.min_requests, "spec.rollout.min_requests")
    check.non_negative(r.promote_after_requests, "spec.rollout.promote_after_requests")


def _autoscaling(spec: gateway_pb2.DeploymentSpec) -> None:
    a = spec.autoscaling
    field = "spec.autoscaling"
    _between(a.stable_window_s, 0, MAX_WINDOW_S, f"{field}.stable_window_s")
    stable = a.stable_window_s or DEFAULT_STABLE_WINDOW_S
    _finite(a.panic_window_s, f"{field}.panic_window_s")
    if a.panic_window_s > stable:
        raise InvalidArgument(
            f"{field}.panic_window_s ({a.panic_window_s:g}) must not exceed the stable"
            f" window ({stable:g} s)",
            field=f"{field}.panic_window_s",
        )
    _finite(a.panic_threshold, f"{field}.panic_threshold")
    if a.panic_threshold and a.panic_threshold < 1:
        raise InvalidArgument(
            f"{field}.panic_threshold must be >= 1 (a multiple of the replicas ready;"
            f" got {a.panic_threshold:g})",
            field=f"{field}.panic_threshold",
        )
    _finite(a.scale_to_zero_grace_s, f"{field}.scale_to_zero_grace_s")
    _between(a.max_buffered_requests, 0, MAX_BUFFERED, f"{field}.max_buffered_requests")
    _finite(a.buffer_timeout_s, f"{field}.buffer_timeout_s")


def check_spec(spec: gateway_pb2.DeploymentSpec) -> None:
    """Every rule of a DeploymentSpec; the first broken one is raised as InvalidArgument."""
    name(spec.name, "spec.name")
    model_uri(spec.model_uri, "spec.model_uri")
    _replicas(spec)
    _placement(spec)
    _batching(spec)
    _traffic(spec)
    _autoscaling(spec)
