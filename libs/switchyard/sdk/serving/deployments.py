"""Model deployments on the inference gateway: `sy.deploy` and the `Deployment` it returns.

    dep = sy.deploy("models:/fraud@champion", min_replicas=0, max_replicas=4, wait=True)
    dep.predict(features)                       # = sy.predict("fraud", features)
    dep.update(canary="models:/fraud/7", canary_percent=10)
    dep.scale(min_replicas=1, max_replicas=8)
    dep.rollback()                              # all traffic back to the stable version

A deployment's replicas are scheduler jobs on the worker pools; clients
reach them through the gateway's Open Inference Protocol endpoints (`.url`
for REST, `sy.predict` over gRPC). Properties read the state the last call
returned; `.refresh()` reads it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from switchyard.core.config import Settings
from switchyard.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument
from switchyard.proto.v1 import gateway_pb2 as pb
from switchyard.sdk.rpcs import gateway as rpc
from switchyard.sdk.serving import specs
from switchyard.sdk.serving.status import STATES, Canary, ReplicaInfo, Revision
from switchyard.sdk.transport import Transport

if TYPE_CHECKING:
    import numpy as np


class Deployment:
    """A deployment on the gateway; properties read the state the last call returned."""

    def __init__(self, proto: pb.Deployment, transport: Transport) -> None:
        self._proto = proto
        self._transport = transport

    @property
    def proto(self) -> pb.Deployment:
        return self._proto

    @property
    def name(self) -> str:
        return self._proto.name or self._proto.spec.name

    @property
    def spec(self) -> pb.DeploymentSpec:
        return self._proto.spec

    @property
    def model_uri(self) -> str:
        return self._proto.spec.model_uri

    @property
    def state(self) -> str:
        """ "PENDING", "READY", "IDLE" (scaled to zero) or "FAILED" (see `.message`)."""
        return STATES.get(self._proto.state, "UNKNOWN")

    @property
    def message(self) -> str:
        return self._proto.message

    @property
    def revisions(self) -> list[Revision]:
        return [Revision.from_proto(r) for r in self._proto.revisions]

    def _role(self, role: str) -> pb.Revision | None:
        # The newest revision in the role (an old one may still drain).
        found = [r for r in self._proto.revisions if r.role == role]
        return max(found, key=lambda r: r.revision) if found else None

    @property
    def version(self) -> str | None:
        """The model version the stable revision serves (None before it resolved)."""
        stable = self._role("stable")
        return (stable.model_version or None) if stable else None

    @property
    def replicas(self) -> int:
        """Ready replicas of the stable revision (canary and shadow ones not counted)."""
        stable = self._role("stable")
        return stable.ready_replicas if stable else 0

    @property
    def desired_replicas(self) -> int:
        """The autoscaler's latest decision, for every revision together."""
        return self._proto.desired_replicas

    @property
    def replica_list(self) -> list[ReplicaInfo]:
        """Every replica of every revision, starting and draining ones included."""
        return [ReplicaInfo.from_proto(r) for r in self._proto.replicas]

    @property
    def canary(self) -> Canary | None:
        r = self._role("canary")
        if r is None:
            return None
        return Canary(r.model_uri, r.model_version, r.percent, r.requests, r.errors, r.p99_ms)

    @property
    def url(self) -> str | None:
        """The OIP REST base of this model (`{url}/infer`), None when the gateway's is unknown."""
        base = self._transport.endpoints.http.get("gateway")
        return f"{base.rstrip('/')}/v2/models/{self.name}" if base else None

    def refresh(self) -> Deployment:
        self._proto = _get(self._transport, self.name)
        return self

    def wait_ready(self, timeout: float | None = None) -> Deployment:
        """Block until the deployment serves: READY, or IDLE (scaled to zero: the first
        request wakes it). FAILED raises FailedPrecondition with its message; past
        `timeout` seconds, DeadlineExceeded. After an update the state stays READY
        while the old version serves: watch `.version` / `.canary` for the new one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.1
        self.refresh()
        while True:
            state = self.state
            if state in ("READY", "IDLE"):
                return self
            if state == "FAILED":
                raise FailedPrecondition(
                    f"deployment {self.name} failed: {self.message or 'no reason given'}",
                    entity=self.name,
                )
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    detail = f": {self.message}" if self.message else ""
                    raise DeadlineExceeded(
                        f"deployment {self.name} not ready after {timeout:g} s"
                        f" (state {state}{detail})",
                        entity=self.name,
                    )
                delay = min(delay, left)
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)
            self.refresh()

    def update(self, **changes: Any) -> Deployment:
        """Change the given fields (`deploy`'s keyword names, and `model_uri`); the rest stay.

        A new model, canary or shadow rolls out; `canary=None` ends the canary.
        """
        wait = changes.pop("wait", False)
        specs.apply(self._proto.spec, changes)  # bad arguments fail before any call
        current = _get(self._transport, self.name)
        spec = specs.apply(current.spec, changes)
        spec.name = self.name
        reply = self._transport.send(rpc.UPDATE_DEPLOYMENT, pb.UpdateDeploymentRequest(spec=spec))
        self._proto = reply.deployment
        return self.wait_ready() if wait else self

    def scale(self, min_replicas: int | None = None, max_replicas: int | None = None) -> Deployment:
        """New replica bounds; one left out keeps its value (max rises to min if need be)."""
        if min_replicas is None and max_replicas is None:
            raise InvalidArgument("give min_replicas, max_replicas or both", field="min_replicas")
        spec = self._proto.spec
        low = (
            spec.min_replicas
            if min_replicas is None
            else specs.integer(min_replicas, "min_replicas")
        )
        if max_replicas is None:
            high = max(spec.max_replicas, low, 1)
        else:
            high = specs.integer(max_replicas, "max_replicas", minimum=1)
            if high < low:
                raise InvalidArgument(
                    f"max_replicas ({high}) must be at least min_replicas ({low})",
                    field="max_replicas",
                )
        request = pb.ScaleDeploymentRequest(name=self.name, min_replicas=low, max_replicas=high)
        self._proto = self._transport.send(rpc.SCALE_DEPLOYMENT, request).deployment
        return self

    def rollback(self) -> Deployment:
        """End the canary now: all traffic to the stable version."""
        request = pb.RollbackDeploymentRequest(name=self.name)
        self._proto = self._transport.send(rpc.ROLLBACK_DEPLOYMENT, request).deployment
        return self

    def promote(self) -> Deployment:
        """Make the canary the stable version."""
        request = pb.PromoteDeploymentRequest(name=self.name)
        self._proto = self._transport.send(rpc.PROMOTE_DEPLOYMENT, request).deployment
        return self

    def delete(self) -> None:
        """Delete the deployment; its replicas drain, then stop."""
        self._transport.send(rpc.DELETE_DEPLOYMENT, pb.DeleteDeploymentRequest(name=self.name))

    def predict(
        self,
        inputs: Any,
        *,
        outputs: str | list[str] | None = None,
        timeout: float | None = None,
    ) -> np.ndarray | dict[str, np.ndarray]:
        """`sy.predict(self.name, inputs, ...)`."""
        from switchyard.sdk.serving.predictions import infer_with

        return infer_with(self._transport, self.name, inputs, outputs=outputs, timeout=timeout)

    def __repr__(self) -> str:
        parts = [f"<Deployment {self.name} {self.model_uri}"]
        if self.version:
            parts.append(f"v{self.version}")
        parts.append(self.state)
        parts.append(f"replicas {self.replicas}/{self._proto.desired_replicas}")
        canary = self.canary
        if canary is not None:
            version = f" v{canary.version}" if canary.version else ""
            parts.append(f"canary {canary.model_uri}{version} {canary.percent:g}%")
        return " ".join(parts) + ">"


def deploy(
    model_uri: str,
    name: str | None = None,
    *,
    min_replicas: int = 1,
    max_replicas: int | None = None,
    target_concurrency: float = 8,
    cpus: float = 1,
    memory: int | str | None = None,
    gpus: int = 0,
    gpu_type: str | None = None,
    pool: str | None = None,
    max_batch_size: int = 1,
    max_batch_delay_ms: float = 0,
    canary: str | None = None,
    canary_percent: float = 0,
    shadow: str | None = None,
    rollout: Mapping[str, Any] | None = None,
    autoscaling: Mapping[str, Any] | None = None,
    queue: str | None = None,
    priority: int = 0,
    wait: bool = False,
    settings: Settings | None = None,
) -> Deployment:
    """Deploy a registered model (`models:/name@alias`, `models:/name/3`, `runs:/<id>/<path>`).

    `name` defaults to the model's name (a run's: the path's last part) as a DNS
    label; it is also the OIP model name. `max_replicas` None: max(min_replicas, 1).
    `memory`: MB, or "512Mi", "2Gi", "1G". `rollout` (min_requests,
    max_error_rate_margin, max_p99_margin, promote_after_requests) and `autoscaling`
    (stable_window_s, panic_window_s, panic_threshold, scale_to_zero_grace_s,
    max_buffered_requests, buffer_timeout_s) are dicts; a deployment that follows
    an alias rolls out each version the alias moves to. `wait=True` returns once it
    serves (see `Deployment.wait_ready`).
    """
    spec = specs.build(
        model_uri,
        name,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        target_concurrency=target_concurrency,
        cpus=cpus,
        memory=memory,
        gpus=gpus,
        gpu_type=gpu_type,
        pool=pool,
        max_batch_size=max_batch_size,
        max_batch_delay_ms=max_batch_delay_ms,
        canary=canary,
        canary_percent=canary_percent,
        shadow=shadow,
        rollout=rollout,
        autoscaling=autoscaling,
        queue=queue,
        priority=priority,
    )
    transport = transport_for(settings)
    reply = transport.send(rpc.CREATE_DEPLOYMENT, pb.CreateDeploymentRequest(spec=spec))
    deployment = Deployment(reply.deployment, transport)
    return deployment.wait_ready() if wait else deployment


def get_deployment(name: str, *, settings: Settings | None = None) -> Deployment:
    transport = transport_for(settings)
    return Deployment(_get(transport, name), transport)


def list_deployments(*, settings: Settings | None = None) -> list[Deployment]:
    """Every deployment (all pages)."""
    transport = transport_for(settings)
    found: list[Deployment] = []
    token = ""
    while True:
        reply = transport.send(
            rpc.LIST_DEPLOYMENTS, pb.ListDeploymentsRequest(max_results=100, page_token=token)
        )
        found.extend(Deployment(d, transport) for d in reply.deployments)
        token = reply.next_page_token
        if not token:
            return found


_transports: dict[str, Transport] = {}
_lock = threading.Lock()


def transport_for(settings: Settings | None) -> Transport:
    # One per distinct settings (by value: `Settings()` made per call must
    # not open a channel per call), kept for the process.
    settings = settings or Settings()
    key = settings.model_dump_json()
    with _lock:
        found = _transports.get(key)
        if found is None:
            found = _transports[key] = Transport(settings)
        return found


def _get(transport: Transport, name: str) -> pb.Deployment:
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"name must be a deployment name, not {name!r}", field="name")
    return transport.send(rpc.GET_DEPLOYMENT, pb.GetDeploymentRequest(name=name)).deployment
