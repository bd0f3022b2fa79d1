"""The gateway's live picture of its deployments, as the data plane reads it.

One `DeploymentRoute` per deployment holds its revisions (one per model
version in a role), each with its replicas, request statistics and
autoscaler. The data plane only reads and counts here (no awaits on the
way to a replica but the request itself); the control loop and the
control plane change it, always after the store has the change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from switchyard.proto.v1 import gateway_pb2 as pb
from switchyard.proto.v1 import inference_pb2 as ipb
from switchyard.services.inference_gateway.autoscaler import Autoscaler, Policy
from switchyard.services.inference_gateway.records import DeploymentRow, ReplicaRow, RevisionRow
from switchyard.services.inference_gateway.rollout import RevisionStats, TrafficSplit
from switchyard.serving.upstream import Upstream

# A ready replica not heard from (heartbeats every 2 s) for this long gets
# no requests until it registers again.
HEARTBEAT_TIMEOUT_S = 6.0


def policy_for(role: str, spec: pb.DeploymentSpec) -> Policy:
    """The stable version scales by the spec; a canary, shadow or replacement
    keeps at most one replica at rest (its traffic is a share of the whole)."""
    policy = Policy.from_spec(spec)
    if role == "stable":
        return policy
    return dataclasses.replace(policy, min_replicas=min(policy.min_replicas, 1))


class ReplicaRoute:
    """A replica and the connections to it (opened when it registers)."""

    def __init__(self, row: ReplicaRow) -> None:
        self.row = row
        self.in_flight = 0
        self.seen = time.monotonic()
        self.upstream: Upstream | None = None
        self._channel: object | None = None  # grpc.aio.Channel, made on first gRPC request
        self._stub: Any = None

    @property
    def job_id(self) -> str:
        return self.row.job_id

    @property
    def routable(self) -> bool:
        return self.row.state == "ready" and self.upstream is not None

    def registered(self, http_address: str, grpc_address: str) -> None:
        self.seen = time.monotonic()
        if http_address != self.row.http_address or self.upstream is None:
            old = self.upstream
            self.upstream = Upstream(http_address)
            if old is not None:
                asyncio.get_running_loop().create_task(old.close())
        if grpc_address != self.row.grpc_address:
            self._close_channel()
        self.row.http_address, self.row.grpc_address = http_address, grpc_address

    def stub(self) -> Any:
        """An OIP gRPC stub to the replica whose ModelInfer takes and gives bytes."""
        if self._stub is None:
            import grpc

            from switchyard.services.inference_gateway.grpc_front import MESSAGE_LIMITS
            from switchyard.serving.oip_service import InferenceStub

            self._channel = grpc.aio.insecure_channel(self.row.grpc_address, options=MESSAGE_LIMITS)
            self._stub = InferenceStub(self._channel, raw_infer=True)
        return self._stub

    def _close_channel(self) -> None:
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            asyncio.get_running_loop().create_task(channel.close())  # type: ignore[attr-defined]

    async def close(self) -> None:
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            await upstream.close()
        self._close_channel()


class RevisionRoute:
    def __init__(self, row: RevisionRow, policy: Policy) -> None:
        self.row = row
        self.replicas: dict[str, ReplicaRoute] = {}
        self.stats = RevisionStats()
        self.autoscaler = Autoscaler(policy)
        self.desired = 0
        self.waiting = 0  # requests held for want of a ready replica
        self.failures = 0  # replica jobs that failed before any became ready
        self._ready = asyncio.Event()
        self._turn = 0

    @property
    def role(self) -> str:
        return self.row.role

    @property
    def version(self) -> str:
        return self.row.model_version

    def ready(self) -> list[ReplicaRoute]:
        return [r for r in self.replicas.values() if r.routable]

    def pick(self) -> ReplicaRoute | None:
        """The ready replica with the fewest requests in flight (ties taken in turn)."""
        best: ReplicaRoute | None = None
        replicas = list(self.replicas.values())
        n = len(replicas)
        self._turn += 1
        for i in range(n):
            r = replicas[(self._turn + i) % n]
            if r.routable and (best is None or r.in_flight < best.in_flight):
                best = r
        return best

    def in_flight(self) -> int:
        return sum(r.in_flight for r in self.replicas.values()) + self.waiting

    def metadata(self) -> ipb.ModelMetadataResponse | None:
        for r in self.replicas.values():
            if r.row.metadata is not None:
                return r.row.metadata
        return None

    def refresh(self) -> None:
        """Wake held requests once a replica is ready."""
        if any(r.routable for r in self.replicas.values()):
            self._ready.set()
        else:
            self._ready.clear()

    async def wait_ready(self, within_s: float) -> bool:
        try:
            await asyncio.wait_for(self._ready.wait(), within_s)
        except TimeoutError:
            return False
        return True

    def proto(self) -> pb.Revision:
        return pb.Revision(
            revision=self.row.revision,
            role=self.row.role,
            model_uri=self.row.model_uri,
            model_name=self.row.model_name,
            model_version=self.row.model_version,
            percent=self.row.percent,
            replicas=self.desired,
            ready_replicas=len(self.ready()),
            requests=self.stats.requests,
            errors=self.stats.errors,
            p99_ms=self.stats.p99_ms(),
        )


class DeploymentRoute:
    def __init__(self, row: DeploymentRow) -> None:
        self.name = row.name
        self.spec = row.spec
        self.state = row.state
        self.message = row.message
        self.created_ms = row.created_ms
        self.updated_ms = row.updated_ms
        self.revisions: dict[int, RevisionRoute] = {}
        self.split = TrafficSplit()
        self.mirror = TrafficSplit()
        self.observed = 0.0
        for revision in row.revisions:
            self.revisions[revision.revision] = RevisionRoute(
                revision, policy_for(revision.role, row.spec)
            )
        for replica in row.replicas:
            owner = self.revisions.get(replica.revision)
            if owner is not None:
                owner.replicas[replica.job_id] = ReplicaRoute(replica)
        for revision in self.revisions.values():
            if revision.replicas:  # a restarted gateway: what runs counts as active now
                policy = policy_for(revision.role, row.spec)
                revision.autoscaler = Autoscaler(policy, active_at=time.monotonic())

    def role(self, role: str) -> RevisionRoute | None:
        for revision in self.revisions.values():
            if revision.role == role:
                return revision
        return None

    def choose(self, version: str) -> RevisionRoute | None:
        """The revision a request goes to: by version when it names one, else by the split."""
        stable = self.role("stable")
        canary = self.role("canary")
        if version:
            for candidate in (stable, canary, self.role("next")):
                if candidate is not None and candidate.version == version:
                    return candidate
            return None
        if canary is not None and canary.row.percent > 0 and self.split.pick(canary.row.percent):
            if canary.pick() is not None or stable is None:
                return canary
            canary.autoscaler.request_arrived(time.monotonic())  # wake it; stable serves meanwhile
        return stable

    def shadow_for(self) -> RevisionRoute | None:
        shadow = self.role("shadow")
        if shadow is None or not self.mirror.pick(shadow.row.percent or 100.0):
            return None
        return shadow

    def proto(self) -> pb.Deployment:
        from switchyard.services.inference_gateway.records import STATES

        stable = self.role("stable")
        return pb.Deployment(
            name=self.name,
            spec=self.spec,
            state=STATES.get(self.state, pb.DEPLOYMENT_STATE_UNSPECIFIED),
            message=self.message,
            revisions=[r.proto() for r in self.revisions.values()],
            replicas=[
                pb.Replica(
                    job_id=rep.row.job_id,
                    revision=rep.row.revision,
                    state=rep.row.state if rep.routable or rep.row.state != "ready" else "lost",
                    http_address=rep.row.http_address,
                    grpc_address=rep.row.grpc_address,
                    in_flight=rep.in_flight,
                    created_ms=rep.row.created_ms,
                    ready_ms=rep.row.ready_ms,
                )
                for rev in self.revisions.values()
                for rep in rev.replicas.values()
            ],
            desired_replicas=stable.desired if stable is not None else 0,
            observed_concurrency=self.observed,
            created_ms=self.created_ms,
            updated_ms=self.updated_ms,
        )

    async def close(self) -> None:
        for revision in self.revisions.values():
            for replica in revision.replicas.values():
                await replica.close()
