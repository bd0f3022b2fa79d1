"""Deployments' lifecycle: create, update, scale, promote, roll back, delete.

Each change is validated, resolved through the registry, stored with its
events (store.py), and only then applied to the live routes the data plane
reads (routing.py). Replacing the stable version never drops a request: the
new version's replicas start as revision "next" and take over only once
one is ready (controller.py), and the old ones drain before they stop. A
deployment that follows an alias (`models:/fraud@champion`) rolls out each
version the alias moves to: through a canary when `canary_percent` is set
without a `canary_model_uri`, else by that replacement.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from switchyard.core import event_types as et
from switchyard.core.events import Event
from switchyard.core.outbox import Outbox
from switchyard.errors import FailedPrecondition, NotFound
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.proto.v1 import gateway_pb2 as pb
from switchyard.services.inference_gateway import validation
from switchyard.services.inference_gateway.models import Models, alias_of
from switchyard.services.inference_gateway.records import RevisionRow
from switchyard.services.inference_gateway.replicas import Launcher
from switchyard.services.inference_gateway.routing import (
    DeploymentRoute,
    RevisionRoute,
    policy_for,
)
from switchyard.services.inference_gateway.store import GatewayStore

log = logging.getLogger(__name__)


def rollout_event(
    kind: et.EventType, route: DeploymentRoute, reason: str, **revisions: object
) -> Event:
    stable = route.role("stable")
    canary = revisions.get("canary") or route.role("canary") or route.role("next")
    payload = ev.RolloutChanged(deployment=route.name, reason=reason)
    if isinstance(revisions.get("stable"), RevisionRoute):
        stable = revisions["stable"]  # type: ignore[assignment]
    if stable is not None:
        payload.stable.CopyFrom(stable.proto())
    if isinstance(canary, RevisionRoute):
        payload.canary.CopyFrom(canary.proto())
    return Outbox.event(kind, route.name, payload)


class Deployments:
    def __init__(self, store: GatewayStore, models: Models, launcher: Launcher) -> None:
        self.store = store
        self.models = models
        self.launcher = launcher
        self.routes: dict[str, DeploymentRoute] = {}
        self.lock = asyncio.Lock()  # one change at a time (control plane and loop)
        self.wake: Callable[[], None] = lambda: None

    async def load(self) -> None:
        for row in await self.store.load():
            self.routes[row.name] = DeploymentRoute(row)

    def get(self, name: str) -> DeploymentRoute:
        route = self.routes.get(name)
        if route is None:
            raise NotFound(f"deployment '{name}' not found", entity="deployment", field="name")
        return route

    async def _revision(self, role: str, uri: str, field: str, percent: float = 0.0) -> RevisionRow:
        resolved = await self.models.resolve(uri, field)
        return RevisionRow(
            0, role, uri, resolved.uri, resolved.model_name, resolved.model_version, percent
        )

    # -- the control plane's calls ---------------------------------------------------

    async def create(self, spec: pb.DeploymentSpec) -> DeploymentRoute:
        validation.check_spec(spec)
        revisions = [await self._revision("stable", spec.model_uri, "spec.model_uri")]
        if spec.canary_model_uri:
            revisions.append(
                await self._revision(
                    "canary", spec.canary_model_uri, "spec.canary_model_uri", spec.canary_percent
                )
            )
        if spec.shadow_model_uri:
            revisions.append(
                await self._revision("shadow", spec.shadow_model_uri, "spec.shadow_model_uri", 100)
            )
        async with self.lock:
            if spec.name in self.routes:
                raise validation_exists(spec.name)
            row = await self.store.create(spec, revisions, [])
            route = self.routes[spec.name] = DeploymentRoute(row)
            if route.role("canary") is not None:
                await self.store.publish(
                    [rollout_event(et.ROLLOUT_STARTED, route, "created with a canary")]
                )
        log.info("deployment created", extra={"deployment": spec.name, "model": spec.model_uri})
        self.wake()
        return route

    async def update(self, spec: pb.DeploymentSpec, reason: str = "updated") -> DeploymentRoute:
        validation.check_spec(spec)
        route = self.get(spec.name)
        old = route.spec
        new: list[RevisionRow] = []
        roles: dict[int, str] = {}
        events: list[Event] = []
        stable, canary, shadow = route.role("stable"), route.role("canary"), route.role("shadow")
        if spec.model_uri != old.model_uri and stable is not None:
            resolved = await self.models.resolve(spec.model_uri, "spec.model_uri")
            if resolved.uri != stable.row.resolved_uri:
                new_row, more_roles, event = await self._plan_rollout(route, spec, spec.model_uri)
                new.append(new_row)
                roles.update(more_roles)
                events.append(event)
        if spec.canary_model_uri != old.canary_model_uri:
            if canary is not None:
                roles[canary.row.revision] = "retired"
            if spec.canary_model_uri:
                new.append(
                    await self._revision(
                        "canary",
                        spec.canary_model_uri,
                        "spec.canary_model_uri",
                        spec.canary_percent,
                    )
                )
                events.append(rollout_event(et.ROLLOUT_STARTED, route, "a new canary"))
        if spec.shadow_model_uri != old.shadow_model_uri:
            if shadow is not None:
                roles[shadow.row.revision] = "retired"
            if spec.shadow_model_uri:
                new.append(
                    await self._revision(
                        "shadow", spec.shadow_model_uri, "spec.shadow_model_uri", 100
                    )
                )
        async with self.lock:
            row = await self.store.update_spec(spec, new, roles, reason, events)
            self._apply(route, spec, row.revisions, roles)
            if canary is not None and spec.canary_model_uri == old.canary_model_uri:
                canary.row.percent = spec.canary_percent
        self.wake()
        return route

    async def _plan_rollout(
        self, route: DeploymentRoute, spec: pb.DeploymentSpec, uri: str
    ) -> tuple[RevisionRow, dict[int, str], Event]:
        """A new stable version: a canary (canary_percent without a canary URI) or a `next`."""
        roles: dict[int, str] = {}
        for pending in (
            route.role("next"),
            None if spec.canary_model_uri else route.role("canary"),
        ):
            if pending is not None:
                roles[pending.row.revision] = "retired"
        if spec.canary_percent > 0 and not spec.canary_model_uri:
            row = await self._revision("canary", uri, "spec.model_uri", spec.canary_percent)
            what = f"{row.model_name or uri} {row.model_version}"
            reason = f"a canary of {what} at {spec.canary_percent:g} %"
        else:
            row = await self._revision("next", uri, "spec.model_uri")
            reason = f"replacing with {row.model_name or uri} {row.model_version} once it is ready"
        return row, roles, rollout_event(et.ROLLOUT_STARTED, route, reason)

    def _apply(
        self,
        route: DeploymentRoute,
        spec: pb.DeploymentSpec,
        rows: list[RevisionRow],
        roles: dict[int, str],
    ) -> None:
        """The stored change, into the live routes."""
        route.spec = spec
        for number, role in roles.items():
            if number in route.revisions:
                route.revisions[number].row.role = role
        for row in rows:
            if row.revision not in route.revisions:
                route.revisions[row.revision] = RevisionRoute(row, policy_for(row.role, spec))
        for revision in route.revisions.values():
            revision.autoscaler.set_policy(policy_for(revision.role, spec))
        if route.state == "FAILED":
            route.state, route.message = "PENDING", ""

    async def scale(self, name: str, min_replicas: int, max_replicas: int) -> DeploymentRoute:
        route = self.get(name)
        spec = pb.DeploymentSpec()
        spec.CopyFrom(route.spec)
        spec.min_replicas, spec.max_replicas = min_replicas, max_replicas
        return await self.update(spec, f"scaled to {min_replicas}..{max_replicas or min_replicas}")

    async def promote(self, name: str, reason: str = "promoted by request") -> DeploymentRoute:
        route = self.get(name)
        candidate = route.role("canary") or route.role("next")
        stable = route.role("stable")
        if candidate is None:
            raise FailedPrecondition(f"deployment '{name}' has no canary to promote", field="name")
        spec = pb.DeploymentSpec()
        spec.CopyFrom(route.spec)
        if spec.canary_model_uri and candidate.role == "canary":
            spec.model_uri, spec.canary_model_uri, spec.canary_percent = (
                spec.canary_model_uri,
                "",
                0,
            )
        roles = {candidate.row.revision: "stable"}
        if stable is not None:
            roles[stable.row.revision] = "retired"
        event = rollout_event(et.ROLLOUT_PROMOTED, route, reason, stable=candidate)
        async with self.lock:
            row = await self.store.update_spec(spec, [], roles, reason, [event])
            self._apply(route, spec, row.revisions, roles)
            candidate.row.percent = 0
            candidate.stats.reset()
        log.info("rollout promoted", extra={"deployment": name, "reason": reason})
        self.wake()
        return route

    async def rollback(self, name: str, reason: str = "rolled back by request") -> DeploymentRoute:
        route = self.get(name)
        candidate = route.role("canary") or route.role("next")
        if candidate is None:
            raise FailedPrecondition(
                f"deployment '{name}' has no canary to roll back", field="name"
            )
        spec = pb.DeploymentSpec()
        spec.CopyFrom(route.spec)
        if candidate.role == "canary" and spec.canary_model_uri:
            spec.canary_model_uri, spec.canary_percent = "", 0
        roles = {candidate.row.revision: "retired"}
        event = rollout_event(et.ROLLOUT_ROLLED_BACK, route, reason, canary=candidate)
        async with self.lock:
            row = await self.store.update_spec(spec, [], roles, reason, [event])
            self._apply(route, spec, row.revisions, roles)
        log.warning("rollout rolled back", extra={"deployment": name, "reason": reason})
        self.wake()
        return route

    async def fail(self, name: str, reason: str) -> None:
        """The stable version cannot serve (its replicas fail to start); until an update."""
        route = self.get(name)
        async with self.lock:
            await self.store.set_state(name, "FAILED", reason)
            route.state, route.message = "FAILED", reason
        log.error("deployment failed", extra={"deployment": name, "reason": reason})

    async def delete(self, name: str) -> None:
        route = self.get(name)
        async with self.lock:
            await self.store.delete(name)
            del self.routes[name]
        for revision in route.revisions.values():
            for replica in revision.replicas.values():
                await self.launcher.stop(replica.job_id)
        await route.close()

    # -- what events tell -------------------------------------------------------------

    async def alias_moved(self, model: str, alias: str, version: int) -> None:
        """Roll out the version an alias now names, in each deployment following it."""
        for route in list(self.routes.values()):
            if alias_of(route.spec.model_uri) != (model, alias) or version <= 0:
                continue
            serving = {
                r.version
                for r in route.revisions.values()
                if r.role in ("stable", "next", "canary")
            }
            if str(version) in serving:
                continue
            new, roles, event = await self._plan_rollout(route, route.spec, route.spec.model_uri)
            async with self.lock:
                row = await self.store.update_spec(
                    route.spec, [new], roles, f"alias {alias} moved to version {version}", [event]
                )
                self._apply(route, route.spec, row.revisions, roles)
            log.info(
                "alias moved: rolling out",
                extra={"deployment": route.name, "alias": alias, "version": version},
            )
        self.wake()


def validation_exists(name: str) -> Exception:
    from switchyard.errors import AlreadyExists

    return AlreadyExists(
        f"deployment '{name}' already exists", entity="deployment", field="spec.name"
    )
