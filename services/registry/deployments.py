"""Where versions serve: the registry follows the gateway's deployment events.

Durable consumers of `sy.gateway.deployment.created|updated|deleted`. Each
event carries the whole deployment, so a handler replaces what is stored for
that deployment with what the event says, and the store skips an event older
than the last one it applied: redeliveries and reordering (the three types
arrive through three consumers) change nothing. Lineage reads the result.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from switchyard.core import event_types as et
from switchyard.core.bus import Bus
from switchyard.core.events import Event
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.proto.v1 import gateway_pb2 as gpb
from switchyard.services.registry.deployment_store import DeploymentStore, Mark, Served

log = logging.getLogger(__name__)

# "next" is a replacement getting ready: it serves as soon as it is; "retired" drains.
SERVING_ROLES = ("stable", "canary", "shadow", "next")
STATES = {
    gpb.DEPLOYMENT_PENDING: "PENDING",
    gpb.DEPLOYMENT_READY: "READY",
    gpb.DEPLOYMENT_IDLE: "IDLE",
    gpb.DEPLOYMENT_FAILED: "FAILED",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def served(deployment: gpb.Deployment) -> list[Served]:
    """The registered versions a deployment serves, one entry per version.

    A version in two roles (stable and shadow) is one entry whose target
    names both; runs:/ revisions (no model name) are not registry versions.
    """
    targets: defaultdict[tuple[str, int], list[str]] = defaultdict(list)
    canary = sum(r.percent for r in deployment.revisions if r.role == "canary" and r.percent > 0)
    ordered = sorted(deployment.revisions, key=lambda r: (_role_rank(r.role), r.revision))
    for r in ordered:
        if r.role not in SERVING_ROLES or not r.model_name or not r.model_version.isdigit():
            continue
        part = _target(r, canary)
        parts = targets[(r.model_name, int(r.model_version))]
        if part not in parts:
            parts.append(part)
    return [Served(name, version, ", ".join(parts)) for (name, version), parts in targets.items()]


def _target(r: gpb.Revision, canary_percent: float) -> str:
    """A role and its traffic, as the gateway routes it (the stored percent is 0 for
    a stable, which takes what the canaries leave, and may be 0 for a full shadow)."""
    if r.role == "stable":
        percent = max(100.0 - canary_percent, 0.0)
    elif r.role == "shadow":
        percent = r.percent or 100.0
    else:
        percent = r.percent
    return f"{r.role} {percent:g} %" if percent > 0 else r.role  # "next": none yet


def _role_rank(role: str) -> int:
    return SERVING_ROLES.index(role) if role in SERVING_ROLES else len(SERVING_ROLES)


def mark(event: Event, deployment: gpb.Deployment) -> Mark:
    return Mark(deployment.updated_ms, (event.time - _EPOCH) // _US)


class Follower:
    """The registry's handlers for deployment events; `keep_tombstones_s`: the stream's age."""

    def __init__(self, store: DeploymentStore, keep_tombstones_s: float) -> None:
        self.store = store
        self.keep_tombstones_s = keep_tombstones_s

    async def start(self, bus: Bus) -> None:
        for kind in (et.DEPLOYMENT_CREATED, et.DEPLOYMENT_UPDATED, et.DEPLOYMENT_DELETED):
            durable = f"registry-deployment-{kind.name.rsplit('.', 1)[-1]}"
            await bus.consume(kind.name, self.on_deployment, durable=durable, deliver_new=True)

    async def on_deployment(self, event: Event) -> None:
        data = event.data
        if not isinstance(data, ev.DeploymentChanged) or not data.deployment.name:
            return
        d = data.deployment
        when = mark(event, d)
        if event.type == et.DEPLOYMENT_DELETED.name:
            if await self.store.delete(d.name, when):
                # Past the stream's age no older event can come back for it.
                cutoff_us = when.event_us - int(self.keep_tombstones_s * 1_000_000)
                await self.store.forget_deleted(cutoff_us)
            return
        state = STATES.get(d.state, "UNKNOWN")
        since_ms = d.updated_ms or when.event_us // 1000
        applied = await self.store.replace(d.name, when, state, served(d), since_ms)
        if not applied:
            log.debug("stale deployment event skipped", extra={"event_id": event.id})
