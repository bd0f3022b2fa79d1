"""Replicas are scheduler jobs: what the gateway submits for one, and how it stops one.

A replica is a service job: it runs `python -m switchyard.serving.replica`
until cancelled, and the scheduler requeues it elsewhere when its worker
is lost (many worker losses allowed), so serving shares the pools, queues,
quotas and priorities of training. The job's environment tells the replica
what to load and where to register; `REPLICA_ENV` also tags the job so the
gateway recognises its replicas' job events.
"""

from __future__ import annotations

import sys

from switchyard.core.scheduler_client import Scheduler
from switchyard.proto.v1 import gateway_pb2 as pb
from switchyard.proto.v1 import scheduler_pb2 as spb
from switchyard.services.inference_gateway.records import RevisionRow

REPLICA_ENV = "SWITCHYARD_REPLICA_DEPLOYMENT"
# A replica outlives workers: each loss requeues it (the default allows 3).
MAX_WORKER_LOSSES = 1000
# A replica that exits by itself failed (a model that cannot load): retried
# twice, then the job fails and the deployment says why.
MAX_RETRIES = 2


def job_spec(spec: pb.DeploymentSpec, revision: RevisionRow, gateway: str) -> spb.JobSpec:
    resources = spb.Resources()
    resources.CopyFrom(spec.resources)
    if resources.cpus <= 0:
        resources.cpus = 1
    env = {
        REPLICA_ENV: spec.name,
        "SWITCHYARD_REPLICA_REVISION": str(revision.revision),
        "SWITCHYARD_REPLICA_MODEL_URI": revision.resolved_uri,
        "SWITCHYARD_REPLICA_MAX_BATCH_SIZE": str(max(spec.max_batch_size, 1)),
        "SWITCHYARD_REPLICA_MAX_BATCH_DELAY_MS": f"{spec.max_batch_delay_ms:g}",
        "SWITCHYARD_GATEWAY_ADDRESS": gateway,
    }
    return spb.JobSpec(
        name=f"replica-{spec.name}-r{revision.revision}",
        # The workers run the platform's own image (or, locally, its venv).
        command=[sys.executable, "-m", "switchyard.serving.replica"],
        env=env,
        resources=resources,
        pool=spec.pool,
        queue=spec.queue,
        priority=spec.priority,
        max_retries=MAX_RETRIES,
        max_worker_losses=MAX_WORKER_LOSSES,
    )


class Launcher:
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.gateway_address = ""  # the control plane, once it listens

    async def start(self, spec: pb.DeploymentSpec, revision: RevisionRow) -> str:
        return await self.scheduler.submit(job_spec(spec, revision, self.gateway_address))

    async def stop(self, job_id: str) -> None:
        await self.scheduler.cancel(job_id)
