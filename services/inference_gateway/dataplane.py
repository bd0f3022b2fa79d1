"""The Open Inference Protocol in front of the replicas, over REST and gRPC.

A request names a deployment (the OIP model name); the gateway picks the
revision (a version named in the path, else the canary split), then the
ready replica with the fewest requests in flight, and forwards the body
untouched: the gateway never decodes tensors, so its cost per request is
one parse of the HTTP head (or of the gRPC message) and one hop. While a
revision has no ready replica (scaled to zero, starting), requests wait in
a bounded buffer and wake it. Requests that never reached a replica are
retried on another; answers with status >= 500 count as errors for the
canary's judge.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter, Histogram

from switchyard.proto.v1 import inference_pb2 as ipb
from switchyard.services.inference_gateway.routing import (
    DeploymentRoute,
    ReplicaRoute,
    RevisionRoute,
)
from switchyard.serving import oip_paths
from switchyard.serving.http import Request, Response
from switchyard.serving.upstream import UpstreamError

log = logging.getLogger(__name__)

FORWARDED = ("content-type", "inference-header-content-length", "traceparent", "tracestate")
RETURNED = ("content-type", "inference-header-content-length")
DEFAULT_BUFFER = 256
DEFAULT_BUFFER_TIMEOUT_S = 30.0
SERVER_METADATA = json.dumps(
    {"name": "switchyard", "version": "1", "extensions": ["binary_tensor_data"]}
).encode()


REQUESTS = Counter(
    "switchyard_gateway_requests_total",
    "Inference requests forwarded, by deployment, revision role and outcome"
    " (ok, error: the replica answered an error, unavailable: no replica answered)",
    ["deployment", "role", "outcome"],
)
LATENCY = Histogram(
    "switchyard_gateway_request_duration_seconds",
    "Time from forwarding a request to its answer, retries included",
    ["deployment", "role"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class Unavailable(Exception):
    """No replica could take the request (503)."""


def _tensor(t: ipb.ModelMetadataResponse.TensorMetadata) -> dict[str, Any]:
    return {"name": t.name, "datatype": t.datatype, "shape": list(t.shape)}


def _error(status: int, message: str) -> Response:
    return Response(status, oip_paths.error_body(message))


class Router:
    """Picks a replica for a request, holding it while none is ready."""

    def __init__(self, deployments: dict[str, DeploymentRoute], wake: Callable[[], None]) -> None:
        self.deployments = deployments
        self.wake = wake  # the control loop: a revision at zero got a request
        self._mirrors: set[asyncio.Task[None]] = set()

    async def replica(self, deployment: DeploymentRoute, revision: RevisionRoute) -> ReplicaRoute:
        revision.autoscaler.request_arrived(time.monotonic())
        replica = revision.pick()
        if replica is not None:
            return replica
        scaling = deployment.spec.autoscaling
        limit = scaling.max_buffered_requests or DEFAULT_BUFFER
        if revision.waiting >= limit:
            raise Unavailable(
                f"deployment '{deployment.name}' has no ready replica and {limit} requests"
                " already wait for one"
            )
        revision.waiting += 1
        self.wake()
        deadline = time.monotonic() + (scaling.buffer_timeout_s or DEFAULT_BUFFER_TIMEOUT_S)
        try:
            while (left := deadline - time.monotonic()) > 0:
                if not await revision.wait_ready(left):
                    break
                replica = revision.pick()
                if replica is not None:
                    return replica
                await asyncio.sleep(0)  # it went away again; wait for the next
        finally:
            revision.waiting -= 1
        raise Unavailable(f"deployment '{deployment.name}' has no ready replica yet")

    async def metadata(
        self, deployment: DeploymentRoute, revision: RevisionRoute
    ) -> ipb.ModelMetadataResponse:
        """The model's inputs and outputs, as its replicas registered them; a
        revision at zero is woken for it (a client asks this before inferring)."""
        found = revision.metadata()
        if found is None:
            await self.replica(deployment, revision)
            found = revision.metadata()
        return found if found is not None else ipb.ModelMetadataResponse()

    def mirror(
        self,
        deployment: DeploymentRoute,
        send: Callable[[ReplicaRoute], Awaitable[Any]],
        failed: Callable[[Any], bool],
    ) -> None:
        """Shadow traffic: the request again, to the shadow revision; its answer is dropped."""
        shadow = deployment.shadow_for()
        if shadow is not None:
            task = asyncio.get_running_loop().create_task(self._mirror(shadow, send, failed))
            self._mirrors.add(task)
            task.add_done_callback(self._mirrors.discard)

    async def _mirror(
        self,
        shadow: RevisionRoute,
        send: Callable[[ReplicaRoute], Awaitable[Any]],
        failed: Callable[[Any], bool],
    ) -> None:
        shadow.autoscaler.request_arrived(time.monotonic())
        replica = shadow.pick()
        if replica is None:  # never held: a shadow must not slow anyone down
            return
        replica.in_flight += 1
        started = time.perf_counter()
        error = True
        try:
            error = failed(await send(replica))
        except Exception:
            pass
        finally:
            replica.in_flight -= 1
            shadow.stats.record(time.perf_counter() - started, error)

    async def forward(
        self,
        deployment: DeploymentRoute,
        revision: RevisionRoute,
        send: Callable[[ReplicaRoute], Awaitable[Any]],
        failed: Callable[[Any], bool],
    ) -> Any:
        """`send` to a replica; once more to another if the first was never reached."""
        started = time.perf_counter()
        outcome = "unavailable"
        try:
            result = await self._forward(deployment, revision, send, failed)
            outcome = "error" if failed(result) else "ok"
            return result
        finally:
            REQUESTS.labels(deployment.name, revision.role, outcome).inc()
            LATENCY.labels(deployment.name, revision.role).observe(time.perf_counter() - started)

    async def _forward(
        self,
        deployment: DeploymentRoute,
        revision: RevisionRoute,
        send: Callable[[ReplicaRoute], Awaitable[Any]],
        failed: Callable[[Any], bool],
    ) -> Any:
        for attempt in (1, 2):
            replica = await self.replica(deployment, revision)
            replica.in_flight += 1
            started = time.perf_counter()
            try:
                result = await send(replica)
            except UpstreamError as exc:
                replica.row.state = "lost"  # until it registers again
                revision.refresh()
                revision.stats.record(time.perf_counter() - started, True)
                if exc.sent or attempt == 2:
                    raise Unavailable(f"replica {replica.job_id} failed: {exc}") from exc
                continue
            finally:
                replica.in_flight -= 1
            error = failed(result)
            revision.stats.record(time.perf_counter() - started, error)
            if error and revision.role == "canary":
                self.wake()  # judge it now, not at the next tick
            return result
        raise AssertionError("unreachable")


class RestFront:
    """The OIP REST routes of the gateway (`http.gateway` in endpoints.json)."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def __call__(self, request: Request) -> Response:
        path = request.path
        if path == "/v2/health/live" or path == "/v2/health/ready":
            return Response(200, b'{"live": true}' if path.endswith("live") else b'{"ready": true}')
        if path == "/v2":
            return Response(200, SERVER_METADATA)
        found = oip_paths.model_name_of(path)
        if found is None:
            return _error(404, f"no route {request.method} {path}")
        name, version, tail = found
        deployment = self.router.deployments.get(name)
        if deployment is None:
            return _error(404, f"unknown model '{name}'")
        if tail == "infer":
            if request.method != "POST":
                return _error(405, "infer takes POST")
            return await self.infer(deployment, version, request)
        revision = deployment.choose(version) if version else deployment.role("stable")
        if revision is None:
            return _error(404, f"model '{name}' has no version '{version}'")
        if tail == "ready":
            ready = bool(revision.ready()) or deployment.state == "IDLE"
            return Response(200 if ready else 503, b"")
        try:
            meta = await self.router.metadata(deployment, revision)
        except Unavailable as exc:
            return _error(503, str(exc))
        body = {
            "name": deployment.name,
            "versions": [r.version for r in deployment.revisions.values() if r.version],
            "platform": meta.platform,
            "inputs": [_tensor(t) for t in meta.inputs],
            "outputs": [_tensor(t) for t in meta.outputs],
        }
        return Response(200, json.dumps(body).encode())

    async def infer(self, deployment: DeploymentRoute, version: str, request: Request) -> Response:
        revision = deployment.choose(version)
        if revision is None:
            return _error(404, f"model '{deployment.name}' has no version '{version}'")
        headers = [(k, request.headers[k]) for k in FORWARDED if k in request.headers]

        async def send(replica: ReplicaRoute) -> tuple[int, list[tuple[str, str]], bytes]:
            assert replica.upstream is not None
            return await replica.upstream.request("POST", request.path, headers, request.body)

        try:
            status, answer_headers, body = await self.router.forward(
                deployment, revision, send, lambda r: r[0] >= 500
            )
        except Unavailable as exc:
            return _error(503, str(exc))
        if not version:
            self.router.mirror(deployment, send, lambda r: r[0] >= 500)
        kept = [(k, v) for k, v in answer_headers if k.lower() in RETURNED]
        content_type = next((v for k, v in kept if k.lower() == "content-type"), "")
        extra = [(k, v) for k, v in kept if k.lower() != "content-type"]
        return Response(status, body, extra, content_type or "application/json")
