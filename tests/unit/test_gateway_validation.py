"""Deployment specs refused before anything changes (services/inference_gateway/validation.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import gateway_pb2
from switchyard.services.inference_gateway import validation
from switchyard.services.inference_gateway.validation import ModelRef, check_spec, model_uri

RUN = "0123456789abcdef0123456789abcdef"


def full_spec() -> gateway_pb2.DeploymentSpec:
    """Every field set to something valid."""
    spec = gateway_pb2.DeploymentSpec(
        name="iris-classifier",
        model_uri="models:/iris@champion",
        min_replicas=0,
        max_replicas=4,
        target_concurrency=8,
        pool="gpu-a100",
        queue="serving",
        priority=5,
        max_batch_size=32,
        max_batch_delay_ms=5,
        canary_model_uri="models:/iris/7",
        canary_percent=20,
        shadow_model_uri=f"runs:/{RUN}/model",
    )
    spec.resources.cpus = 2
    spec.resources.memory_mb = 4096
    spec.resources.gpus = 1
    spec.resources.gpu_type = "A100"
    spec.rollout.min_requests = 100
    spec.rollout.max_error_rate_margin = 0.02
    spec.rollout.max_p99_margin = 0.5
    spec.rollout.promote_after_requests = 1000
    a = spec.autoscaling
    a.stable_window_s, a.panic_window_s, a.panic_threshold = 30, 3, 2.5
    a.scale_to_zero_grace_s, a.max_buffered_requests, a.buffer_timeout_s = 10, 64, 5
    return spec


def test_a_full_spec_and_a_minimal_one_pass() -> None:
    check_spec(full_spec())
    check_spec(gateway_pb2.DeploymentSpec(name="m", model_uri="models:/m/1"))


def test_edges_that_pass() -> None:
    spec = full_spec()
    spec.name = "a" + "-b" * 31  # 63 characters
    spec.min_replicas, spec.max_replicas = 100, 100
    spec.max_batch_size, spec.max_batch_delay_ms = 4096, 10_000
    spec.canary_percent = 100
    spec.autoscaling.panic_window_s = spec.autoscaling.stable_window_s  # equal is fine
    spec.autoscaling.panic_threshold = 1
    spec.rollout.max_error_rate_margin = 0  # set to 0: any excess
    check_spec(spec)
    spec.canary_percent = 0  # a canary deployed with no traffic yet
    check_spec(spec)
    spec.ClearField("canary_model_uri")
    check_spec(spec)


def _set(path: str, value: object) -> Callable[[gateway_pb2.DeploymentSpec], None]:
    def apply(spec: gateway_pb2.DeploymentSpec) -> None:
        *parents, leaf = path.split(".")
        target = spec
        for part in parents:
            target = getattr(target, part)
        setattr(target, leaf, value)

    return apply


INF, NAN = float("inf"), float("nan")

BAD = [
    ("name", "", "spec.name"),
    ("name", "Iris", "spec.name"),
    ("name", "1iris", "spec.name"),
    ("name", "iris-", "spec.name"),
    ("name", "iris_v2", "spec.name"),
    ("name", "iris.v2", "spec.name"),
    ("name", "a" * 64, "spec.name"),
    ("model_uri", "", "spec.model_uri"),
    ("model_uri", "s3://bucket/model", "spec.model_uri"),
    ("model_uri", "models:/iris", "spec.model_uri"),
    ("model_uri", "models:/iris/latest", "spec.model_uri"),
    ("model_uri", "models:/iris/Production", "spec.model_uri"),
    ("model_uri", "models:/iris/0", "spec.model_uri"),
    ("model_uri", "models:/iris@", "spec.model_uri"),
    ("model_uri", "models:/@champion", "spec.model_uri"),
    ("model_uri", "models:/iris@latest", "spec.model_uri"),
    ("model_uri", "models:/iris@bad alias", "spec.model_uri"),
    ("model_uri", "models:/a/b/3", "spec.model_uri"),
    ("model_uri", "models:/ir\x00is/3", "spec.model_uri"),
    ("model_uri", "models:iris/3", "spec.model_uri"),
    ("model_uri", f"runs:/{RUN}", "spec.model_uri"),
    ("model_uri", f"runs:/{RUN}/", "spec.model_uri"),
    ("model_uri", "runs:/123/model", "spec.model_uri"),
    ("model_uri", f"runs:/{RUN.upper()}/model", "spec.model_uri"),
    ("model_uri", f"runs:/{RUN}/../other", "spec.model_uri"),
    ("model_uri", "models:/" + "m" * 5000 + "/1", "spec.model_uri"),
    ("min_replicas", -1, "spec.min_replicas"),
    ("min_replicas", 101, "spec.min_replicas"),
    ("max_replicas", -1, "spec.max_replicas"),
    ("max_replicas", 101, "spec.max_replicas"),
    ("target_concurrency", -1.0, "spec.target_concurrency"),
    ("target_concurrency", INF, "spec.target_concurrency"),
    ("target_concurrency", NAN, "spec.target_concurrency"),
    ("resources.cpus", -0.5, "spec.resources.cpus"),
    ("resources.cpus", NAN, "spec.resources.cpus"),
    ("resources.memory_mb", -1, "spec.resources.memory_mb"),
    ("resources.gpus", -1, "spec.resources.gpus"),
    ("resources.gpu_type", "x" * 201, "spec.resources.gpu_type"),
    ("pool", "GPU pool", "spec.pool"),
    ("queue", "-serving", "spec.queue"),
    ("max_batch_size", -1, "spec.max_batch_size"),
    ("max_batch_size", 4097, "spec.max_batch_size"),
    ("max_batch_delay_ms", -1.0, "spec.max_batch_delay_ms"),
    ("max_batch_delay_ms", 10_001.0, "spec.max_batch_delay_ms"),
    ("max_batch_delay_ms", NAN, "spec.max_batch_delay_ms"),
    ("canary_percent", -1.0, "spec.canary_percent"),
    ("canary_percent", 100.5, "spec.canary_percent"),
    ("canary_percent", NAN, "spec.canary_percent"),
    ("canary_model_uri", "models:/iris/latest", "spec.canary_model_uri"),
    ("shadow_model_uri", "runs:/nope/model", "spec.shadow_model_uri"),
    ("rollout.max_error_rate_margin", -0.01, "spec.rollout.max_error_rate_margin"),
    ("rollout.max_error_rate_margin", INF, "spec.rollout.max_error_rate_margin"),
    ("rollout.max_p99_margin", -0.5, "spec.rollout.max_p99_margin"),
    ("rollout.max_p99_margin", NAN, "spec.rollout.max_p99_margin"),
    ("rollout.min_requests", -1, "spec.rollout.min_requests"),
    ("rollout.promote_after_requests", -1, "spec.rollout.promote_after_requests"),
    ("autoscaling.stable_window_s", -1.0, "spec.autoscaling.stable_window_s"),
    ("autoscaling.stable_window_s", 3601.0, "spec.autoscaling.stable_window_s"),
    ("autoscaling.stable_window_s", NAN, "spec.autoscaling.stable_window_s"),
    ("autoscaling.panic_window_s", -1.0, "spec.autoscaling.panic_window_s"),
    ("autoscaling.panic_window_s", 31.0, "spec.autoscaling.panic_window_s"),
    ("autoscaling.panic_window_s", INF, "spec.autoscaling.panic_window_s"),
    ("autoscaling.panic_threshold", 0.5, "spec.autoscaling.panic_threshold"),
    ("autoscaling.panic_threshold", -2.0, "spec.autoscaling.panic_threshold"),
    ("autoscaling.panic_threshold", INF, "spec.autoscaling.panic_threshold"),
    ("autoscaling.scale_to_zero_grace_s", -1.0, "spec.autoscaling.scale_to_zero_grace_s"),
    ("autoscaling.scale_to_zero_grace_s", NAN, "spec.autoscaling.scale_to_zero_grace_s"),
    ("autoscaling.max_buffered_requests", -1, "spec.autoscaling.max_buffered_requests"),
    ("autoscaling.max_buffered_requests", 100_001, "spec.autoscaling.max_buffered_requests"),
    ("autoscaling.buffer_timeout_s", -1.0, "spec.autoscaling.buffer_timeout_s"),
    ("autoscaling.buffer_timeout_s", INF, "spec.autoscaling.buffer_timeout_s"),
]


@pytest.mark.parametrize(
    ("path", "value", "field"), BAD, ids=[f"{p}={v!r}"[:60] for p, v, _ in BAD]
)
def test_each_bad_field_is_named(path: str, value: object, field: str) -> None:
    spec = full_spec()
    _set(path, value)(spec)
    with pytest.raises(InvalidArgument) as err:
        check_spec(spec)
    assert err.value.field == field, err.value.message
    assert err.value.message.startswith(field)


def test_max_replicas_below_min_replicas() -> None:
    spec = full_spec()
    spec.min_replicas, spec.max_replicas = 5, 3
    with pytest.raises(InvalidArgument) as err:
        check_spec(spec)
    assert err.value.field == "spec.max_replicas"
    assert "min_replicas is 5" in err.value.message
    spec.max_replicas = 0  # unset: max(min_replicas, 1)
    check_spec(spec)


def test_canary_percent_needs_a_canary() -> None:
    spec = full_spec()
    spec.ClearField("canary_model_uri")
    with pytest.raises(InvalidArgument) as err:
        check_spec(spec)
    assert err.value.field == "spec.canary_model_uri"
    assert "canary_percent is 20" in err.value.message


def test_panic_window_is_checked_against_the_default_stable_window() -> None:
    spec = full_spec()
    spec.autoscaling.stable_window_s = 0  # 60
    spec.autoscaling.panic_window_s = 60
    check_spec(spec)
    spec.autoscaling.panic_window_s = 61
    with pytest.raises(InvalidArgument) as err:
        check_spec(spec)
    assert err.value.field == "spec.autoscaling.panic_window_s"


def test_name_alone_with_its_default_field() -> None:
    assert validation.name("iris") == "iris"
    with pytest.raises(InvalidArgument) as err:
        validation.name("Iris")
    assert err.value.field == "name"
    assert "lowercase" in err.value.message


def test_model_uri_is_parsed() -> None:
    assert model_uri("models:/iris@champion") == ModelRef(
        "models:/iris@champion", name="iris", alias="champion"
    )
    assert model_uri("models:/My Model/12") == ModelRef(
        "models:/My Model/12", name="My Model", version=12
    )
    assert model_uri(f"runs:/{RUN}/models/clf/") == ModelRef(
        f"runs:/{RUN}/models/clf/", run_id=RUN, path="models/clf"
    )
    with pytest.raises(InvalidArgument) as err:
        model_uri("file:///tmp/model")
    assert err.value.field == "model_uri"
    assert "models:/<name>@<alias>" in err.value.message
