"""`DeploymentSpec` from `sy.deploy`'s keyword arguments, checked before any call.

`deploy` applies every argument to an empty spec; `Deployment.update` applies
only those it was given to the current one, so both share one set of checks.
Each bad argument is an `InvalidArgument` naming it.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from typing import Any

from google.protobuf.message import Message

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import gateway_pb2 as pb
from switchyard.sdk.arguments import checked
from switchyard.sdk.jobs._specs import parse_memory_mb

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SCHEMES = ("models:/", "runs:/")

# What `deploy` and `update` take besides the model URI and the name, with deploy's defaults.
DEFAULTS: dict[str, Any] = {
    "min_replicas": 1,
    "max_replicas": None,  # None: max(min_replicas, 1)
    "target_concurrency": 8,
    "cpus": 1,
    "memory": None,
    "gpus": 0,
    "gpu_type": None,
    "pool": None,
    "queue": None,
    "priority": 0,
    "max_batch_size": 1,
    "max_batch_delay_ms": 0,
    "canary": None,
    "canary_percent": 0,
    "shadow": None,
    "rollout": None,
    "autoscaling": None,
}
ROLLOUT_FIELDS = {
    "min_requests": int,
    "max_error_rate_margin": float,
    "max_p99_margin": float,
    "promote_after_requests": int,
}
AUTOSCALING_FIELDS = {
    "stable_window_s": float,
    "panic_window_s": float,
    "panic_threshold": float,
    "scale_to_zero_grace_s": float,
    "max_buffered_requests": int,
    "buffer_timeout_s": float,
}


def derive_name(model_uri: str) -> str:
    """The deployment name a model URI suggests, as a DNS label.

    models:/fraud@champion -> fraud; models:/fraud/3 -> fraud;
    runs:/<id>/path/model -> model.
    """
    uri = check_model_uri(model_uri, "model_uri")
    if uri.startswith("models:/"):
        raw = re.split(r"[@/]", uri.removeprefix("models:/"), maxsplit=1)[0]
    else:
        raw = uri.removeprefix("runs:/").rstrip("/").rsplit("/", 1)[-1]
    label = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", raw.lower())).strip("-")[:63]
    label = label.strip("-")
    if not label:
        raise InvalidArgument(
            f"cannot derive a deployment name from {model_uri!r}: pass name=", field="name"
        )
    return label


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not _LABEL.match(name):
        raise InvalidArgument(
            f"name {name!r} is not a DNS label (lower-case letters, digits and '-',"
            " at most 63, starting and ending with a letter or digit)",
            field="name",
        )
    return name


def check_model_uri(uri: Any, field: str) -> str:
    if not isinstance(uri, str) or not uri.startswith(SCHEMES) or uri in SCHEMES:
        raise InvalidArgument(
            f"{field} {uri!r} is not a model URI: models:/name@alias, models:/name/3"
            " or runs:/<run id>/<path>",
            field=field,
        )
    return uri


def build(model_uri: str, name: str | None = None, **kwargs: Any) -> pb.DeploymentSpec:
    """The spec `sy.deploy(model_uri, name, **kwargs)` creates (deploy's defaults filled in)."""
    check_model_uri(model_uri, "model_uri")
    spec = pb.DeploymentSpec(
        name=derive_name(model_uri) if name is None else check_name(name), model_uri=model_uri
    )
    return apply(spec, {**DEFAULTS, **kwargs})


@checked  # an int past int32 and the like: InvalidArgument, not a protobuf error
def apply(current: pb.DeploymentSpec, changes: Mapping[str, Any]) -> pb.DeploymentSpec:
    """A copy of `current` with `changes` (deploy's keyword names) applied and checked."""
    unknown = sorted(set(changes) - set(DEFAULTS) - {"model_uri"})
    if unknown:
        raise InvalidArgument(
            f"unknown argument {unknown[0]!r}; one of: model_uri, {', '.join(DEFAULTS)}",
            field=unknown[0],
        )
    spec = pb.DeploymentSpec()
    spec.CopyFrom(current)
    for key, value in changes.items():
        _SETTERS[key](spec, value)
    if changes.get("max_replicas") is None:
        spec.max_replicas = max(spec.max_replicas, spec.min_replicas, 1)
    elif spec.max_replicas < max(spec.min_replicas, 1):
        raise InvalidArgument(
            f"max_replicas ({spec.max_replicas}) must be at least min_replicas"
            f" ({spec.min_replicas}) and 1",
            field="max_replicas",
        )
    if "canary" in changes and not spec.canary_model_uri and "canary_percent" not in changes:
        spec.canary_percent = 0  # the canary went: so did its share
    if spec.canary_percent and not spec.canary_model_uri:
        raise InvalidArgument("canary_percent needs a canary model URI", field="canary_percent")
    return spec


def integer(value: Any, field: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise InvalidArgument(
            f"{field} must be an integer >= {minimum}, not {value!r}", field=field
        )
    return int(value)


def number(
    value: Any, field: str, *, positive: bool = False, maximum: float | None = None
) -> float:
    bad = isinstance(value, bool) or not isinstance(value, numbers.Real)
    if not bad:
        value = float(value)
        bad = not (value > 0 if positive else value >= 0) or (
            maximum is not None and value > maximum
        )
    if bad:
        bound = "> 0" if positive else ">= 0"
        if maximum is not None:
            bound += f" and <= {maximum:g}"
        raise InvalidArgument(f"{field} must be a number {bound}, not {value!r}", field=field)
    return float(value)


def text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be a string, not {value!r}", field=field)
    return value


def _memory(spec: pb.DeploymentSpec, value: Any) -> None:
    mb = parse_memory_mb(value)
    if mb < 0:
        raise InvalidArgument(f"memory {value!r} is negative", field="memory")
    spec.resources.memory_mb = mb


def _uri_or_none(field: str, attr: str) -> Any:
    def setter(spec: pb.DeploymentSpec, value: Any) -> None:
        setattr(spec, attr, "" if value is None else check_model_uri(value, field))

    return setter


def _message(field: str, attr: str, fields: dict[str, type]) -> Any:
    """A dict of the message's fields (merged into the current one; a None value
    clears that field), a message of the type (replaces it), or None (defaults)."""

    def setter(spec: pb.DeploymentSpec, value: Any) -> None:
        target: Message = getattr(spec, attr)
        if value is None:
            spec.ClearField(attr)
            return
        if isinstance(value, type(target)):
            target.CopyFrom(value)
            return
        if not isinstance(value, Mapping):
            raise InvalidArgument(f"{field} must be a dict, not {value!r}", field=field)
        for key, item in value.items():
            kind = fields.get(key)
            if kind is None:
                raise InvalidArgument(
                    f"unknown {field} key {key!r}; one of: {', '.join(fields)}",
                    field=f"{field}.{key}",
                )
            if item is None:
                target.ClearField(key)
            elif kind is int:
                setattr(target, key, integer(item, f"{field}.{key}"))
            else:
                setattr(target, key, number(item, f"{field}.{key}"))

    return setter


def _set(attr: str, convert: Any) -> Any:
    def setter(spec: pb.DeploymentSpec, value: Any) -> None:
        setattr(spec, attr, convert(value, attr))

    return setter


def _resource(attr: str, convert: Any, field: str) -> Any:
    def setter(spec: pb.DeploymentSpec, value: Any) -> None:
        setattr(spec.resources, attr, convert(value, field))

    return setter


def _max_replicas(spec: pb.DeploymentSpec, value: Any) -> None:
    if value is not None:
        spec.max_replicas = integer(value, "max_replicas", minimum=1)


_SETTERS: dict[str, Any] = {
    "model_uri": lambda spec, value: setattr(
        spec, "model_uri", check_model_uri(value, "model_uri")
    ),
    "min_replicas": _set("min_replicas", integer),
    "max_replicas": _max_replicas,
    "target_concurrency": _set("target_concurrency", lambda v, f: number(v, f, positive=True)),
    "cpus": _resource("cpus", lambda v, f: number(v, f, positive=True), "cpus"),
    "memory": _memory,
    "gpus": _resource("gpus", integer, "gpus"),
    "gpu_type": _resource("gpu_type", text, "gpu_type"),
    "pool": _set("pool", text),
    "queue": _set("queue", text),
    "priority": _set(
        "priority",
        lambda v, f: integer(v, f, minimum=-(2**31)),
    ),
    "max_batch_size": _set("max_batch_size", lambda v, f: integer(v, f, minimum=1)),
    "max_batch_delay_ms": _set("max_batch_delay_ms", number),
    "canary": _uri_or_none("canary", "canary_model_uri"),
    "canary_percent": _set("canary_percent", lambda v, f: number(v, f, maximum=100)),
    "shadow": _uri_or_none("shadow", "shadow_model_uri"),
    "rollout": _message("rollout", "rollout", ROLLOUT_FIELDS),
    "autoscaling": _message("autoscaling", "autoscaling", AUTOSCALING_FIELDS),
}
