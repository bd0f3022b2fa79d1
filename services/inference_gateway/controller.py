"""The gateway's control loop: autoscale, start and drain replicas, judge rollouts.

Every `TICK_S` (or at once when woken: a request at zero, a registration,
a change), for each deployment: sample the requests in flight of each
revision into its autoscaler; decide how many replicas each revision wants
(the stable one by the KPA, a canary, shadow or replacement by its own
share with at most one at rest, a retired one none); start jobs for
missing replicas and drain extras (no new requests; cancelled once their
requests finished); swap a ready replacement in; judge the canary; and set
the deployment's state. Every decision that changes a replica count is a
`sy.gateway.replicas.scaled` event and a metric.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from prometheus_client import Counter, Gauge

from switchyard.core import event_types as et
from switchyard.core.ids import now_ms
from switchyard.core.outbox import Outbox
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.services.inference_gateway.deployments import Deployments
from switchyard.services.inference_gateway.records import ReplicaRow
from switchyard.services.inference_gateway.replicas import Launcher
from switchyard.services.inference_gateway.rollout import judge
from switchyard.services.inference_gateway.routing import (
    HEARTBEAT_TIMEOUT_S,
    DeploymentRoute,
    ReplicaRoute,
    RevisionRoute,
)
from switchyard.services.inference_gateway.store import GatewayStore

log = logging.getLogger(__name__)
TICK_S = 0.5

REPLICAS = Gauge(
    "switchyard_gateway_replicas", "Replicas by state", ["deployment", "role", "state"]
)
DESIRED = Gauge(
    "switchyard_gateway_desired_replicas", "The autoscaler's decision", ["deployment", "role"]
)
OBSERVED = Gauge(
    "switchyard_gateway_observed_concurrency", "Requests in flight (window average)", ["deployment"]
)
IN_FLIGHT = Gauge(
    "switchyard_gateway_in_flight_requests",
    "Requests at replicas or waiting for one, now (at the last tick)",
    ["deployment", "role"],
)
DECISIONS = Counter(
    "switchyard_gateway_scale_decisions_total", "Replica count changes", ["deployment", "reason"]
)


class Controller:
    def __init__(self, deployments: Deployments, store: GatewayStore, launcher: Launcher) -> None:
        self.deployments = deployments
        self.store = store
        self.launcher = launcher
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            for route in list(self.deployments.routes.values()):
                try:
                    await self.tick(route)
                except Exception:
                    log.exception("deployment tick failed", extra={"deployment": route.name})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_S)

    async def tick(self, route: DeploymentRoute) -> None:
        now = time.monotonic()
        for revision in route.revisions.values():
            self._expire(revision, now)
            revision.autoscaler.record(now, revision.in_flight())
        stable = route.role("stable")
        for revision in list(route.revisions.values()):
            await self._scale(route, revision, self._want(route, revision, stable, now))
        await self._drain(route)
        await self._rollouts(route)
        await self._state(route)
        self._export(route)

    def _expire(self, revision: RevisionRoute, now: float) -> None:
        for replica in revision.replicas.values():
            if replica.row.state == "ready" and now - replica.seen > HEARTBEAT_TIMEOUT_S:
                log.warning("replica stopped heartbeating", extra={"job_id": replica.job_id})
                replica.row.state = "lost"
        revision.refresh()

    def _want(
        self,
        route: DeploymentRoute,
        revision: RevisionRoute,
        stable: RevisionRoute | None,
        now: float,
    ) -> tuple[int, ev.ReplicasScaled]:
        role = revision.role
        decision = revision.autoscaler.decide(now, len(revision.ready()))
        if role == "retired" or (route.state == "FAILED" and role == "stable"):
            desired, reason = 0, "retired" if role == "retired" else "failed"
        elif role == "next":
            desired, reason = max(1, stable.desired if stable else 1), "replacement"
        else:
            desired, reason = decision.desired, decision.reason
        if role == "stable":
            route.observed = decision.observed
        return desired, ev.ReplicasScaled(
            deployment=route.name,
            revision=revision.row.revision,
            role=role,
            from_replicas=revision.desired,
            to_replicas=desired,
            observed_concurrency=decision.observed,
            target_concurrency=revision.autoscaler.policy.target,
            panic=decision.panic,
            reason=reason,
        )

    async def _scale(
        self, route: DeploymentRoute, revision: RevisionRoute, want: tuple[int, ev.ReplicasScaled]
    ) -> None:
        desired, event = want
        if desired != revision.desired:
            revision.desired = desired
            DECISIONS.labels(route.name, event.reason).inc()
            await self.store.publish([Outbox.event(et.REPLICAS_SCALED, route.name, event)])
            log.info(
                "replicas scaled",
                extra={
                    "deployment": route.name,
                    "role": revision.role,
                    "from": event.from_replicas,
                    "to": desired,
                    "observed": round(event.observed_concurrency, 2),
                    "reason": event.reason,
                },
            )
        live = [r for r in revision.replicas.values() if r.row.state != "draining"]
        for _ in range(desired - len(live)):
            await self._start(route, revision)
        extra = len(live) - desired
        if extra > 0:
            # Drain those not serving first, then the least busy.
            order = sorted(live, key=lambda r: (r.routable, r.in_flight))
            for replica in order[:extra]:
                replica.row.state = "draining"
                await self.store.replica_state(replica.job_id, "draining")
            revision.refresh()

    async def _start(self, route: DeploymentRoute, revision: RevisionRoute) -> None:
        job_id = await self.launcher.start(route.spec, revision.row)
        # Known at once (a fast replica may register before the row is stored);
        # a gateway that dies before storing it tells the replica it is unknown
        # when it registers, and the replica exits.
        row = ReplicaRow(job_id, revision.row.revision, "starting", created_ms=now_ms())
        revision.replicas.setdefault(job_id, ReplicaRoute(row))
        await self.store.add_replica(route.name, row)
        log.info(
            "replica started",
            extra={"deployment": route.name, "revision": revision.row.revision, "job_id": job_id},
        )

    async def _drain(self, route: DeploymentRoute) -> None:
        for number, revision in list(route.revisions.items()):
            for replica in list(revision.replicas.values()):
                if replica.row.state == "draining" and replica.in_flight == 0:
                    await self.launcher.stop(replica.job_id)
                    await self.forget(revision, replica)
            if revision.role == "retired" and not revision.replicas:
                await self.store.set_roles(route.name, {number: "gone"}, {}, [])
                del route.revisions[number]

    async def forget(self, revision: RevisionRoute, replica: ReplicaRoute) -> None:
        revision.replicas.pop(replica.job_id, None)
        await self.store.remove_replica(replica.job_id)
        await replica.close()
        revision.refresh()

    async def _rollouts(self, route: DeploymentRoute) -> None:
        following = route.role("next")
        if following is not None and following.ready():
            await self.deployments.promote(route.name, "the new version is ready")
            return
        canary, stable = route.role("canary"), route.role("stable")
        if canary is None or stable is None:
            return
        verdict = judge(stable.stats, canary.stats, route.spec.rollout)
        if verdict.action == "rollback":
            await self.deployments.rollback(route.name, verdict.reason)
        elif verdict.action == "promote":
            await self.deployments.promote(route.name, verdict.reason)

    async def _state(self, route: DeploymentRoute) -> None:
        stable = route.role("stable")
        if route.state == "FAILED" or stable is None:
            return
        # Replicas known ready but not heard from since a gateway restart count
        # until their heartbeat is overdue (then they are "lost").
        if stable.ready() or any(r.row.state == "ready" for r in stable.replicas.values()):
            state = "READY"
        elif stable.desired == 0 and not stable.replicas:
            state = "IDLE"
        else:
            state = "PENDING"
        if state != route.state:
            route.state, route.message, route.updated_ms = state, "", now_ms()
            await self.store.set_state(route.name, state, "")
            log.info("deployment state", extra={"deployment": route.name, "state": state})

    def _export(self, route: DeploymentRoute) -> None:
        OBSERVED.labels(route.name).set(route.observed)
        for revision in route.revisions.values():
            DESIRED.labels(route.name, revision.role).set(revision.desired)
            IN_FLIGHT.labels(route.name, revision.role).set(revision.in_flight)
            counts: dict[str, int] = {"starting": 0, "ready": 0, "draining": 0, "lost": 0}
            for replica in revision.replicas.values():
                counts[replica.row.state] = counts.get(replica.row.state, 0) + 1
            for state, n in counts.items():
                REPLICAS.labels(route.name, revision.role, state).set(n)
