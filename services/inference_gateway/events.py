"""The events the gateway follows: its replicas' jobs, and alias moves.

- `sy.scheduler.job.succeeded|failed|cancelled` of a replica's job (tagged by
  `REPLICA_ENV`): the replica is gone; a job that failed before any replica
  of its version was ready fails the deployment (stable) or rolls the new
  version back (canary, replacement), with the job's message.
- `sy.scheduler.job.retrying`: its worker was lost and the job is requeued;
  the replica gets no requests until it registers again from its new place.
- `sy.registry.alias.set`: deployments following that alias roll out the
  version it now names.

Durable consumers, so nothing is missed while the gateway restarts.
"""

from __future__ import annotations

import logging

from switchyard.core import event_types as et
from switchyard.core.bus import Bus
from switchyard.core.events import Event
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.services.inference_gateway.controller import Controller
from switchyard.services.inference_gateway.deployments import Deployments
from switchyard.services.inference_gateway.replicas import REPLICA_ENV

log = logging.getLogger(__name__)
ENDED = (et.JOB_SUCCEEDED, et.JOB_FAILED, et.JOB_CANCELLED)


class Follower:
    def __init__(self, deployments: Deployments, controller: Controller) -> None:
        self.deployments = deployments
        self.controller = controller

    async def start(self, bus: Bus) -> None:
        for kind in (*ENDED, et.JOB_RETRYING):
            durable = f"gateway-{kind.name.rsplit('.', 1)[-1]}"
            await bus.consume(kind.name, self.on_job, durable=durable, deliver_new=True)
        await bus.consume(
            et.ALIAS_SET.name, self.on_alias, durable="gateway-alias-set", deliver_new=True
        )

    async def on_job(self, event: Event) -> None:
        data = event.data
        if not isinstance(data, ev.JobChanged):
            return
        name = data.job.spec.env.get(REPLICA_ENV, "")
        route = self.deployments.routes.get(name) if name else None
        if route is None:
            return
        for revision in route.revisions.values():
            replica = revision.replicas.get(data.job.job_id)
            if replica is None:
                continue
            if event.type == et.JOB_RETRYING.name:
                replica.row.state = "lost" if replica.row.state != "draining" else "draining"
                revision.refresh()
                return
            had_ready = bool(revision.ready()) or replica.row.ready_ms > 0
            await self.controller.forget(revision, replica)
            if event.type == et.JOB_FAILED.name and not had_ready:
                await self._failed(route.name, revision.role, data.job)
            self.controller.wake()
            return

    async def _failed(self, name: str, role: str, job: object) -> None:
        message = getattr(job, "message", "") or "its job failed"
        reason = f"replica job {getattr(job, 'job_id', '')} failed: {message}"
        if role in ("canary", "next"):
            await self.deployments.rollback(name, reason)
        elif role == "stable":
            await self.deployments.fail(name, reason)

    async def on_alias(self, event: Event) -> None:
        data = event.data
        if isinstance(data, ev.AliasChanged) and data.version > 0:
            await self.deployments.alias_moved(data.name, data.alias, data.version)
