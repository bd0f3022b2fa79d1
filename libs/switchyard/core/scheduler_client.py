"""A service's connection to the scheduler, through the SDK's `AsyncJobsClient`.

The tuner's trials and the gateway's replicas are jobs: submitted, found
again by name after a restart, and cancelled through this one class. The
client is made on first use: under `switchyard up` the platform's
endpoints appear only once every service is healthy, the caller included.
"""

from __future__ import annotations

from switchyard.core.config import Settings
from switchyard.core.peers import Peer
from switchyard.errors import NotFound
from switchyard.proto.v1 import scheduler_pb2 as spb
from switchyard.sdk.jobs import AsyncJobsClient

SCHEDULER_TIMEOUT_S = 10.0


class Scheduler(Peer[AsyncJobsClient]):
    """`close()` is idempotent."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(lambda: AsyncJobsClient(settings=settings, timeout=SCHEDULER_TIMEOUT_S))
        self.settings = settings

    async def submit(self, spec: spb.JobSpec) -> str:
        """Queue the job; its id."""
        client = await self.client()
        r = spec.resources
        job = await client.submit_job(
            list(spec.command),
            name=spec.name,
            pool=spec.pool or "default",
            queue=spec.queue or "default",
            priority=spec.priority,
            cpus=r.cpus,
            memory=r.memory_mb or None,
            gpus=r.gpus,
            gpu_type=r.gpu_type or None,
            env=dict(spec.env),
            workdir=spec.workdir or None,
            max_retries=spec.max_retries,
            timeout=spec.timeout_s or None,
            max_worker_losses=spec.max_worker_losses,
        )
        return job.id

    async def find(self, name: str) -> str | None:
        """The newest job of this name (after a restart), if any."""
        client = await self.client()
        jobs = await client.list_jobs(name=name, limit=1)
        return jobs[0].id if jobs else None

    async def cancel(self, job_id: str) -> None:
        client = await self.client()
        try:
            await client.cancel_job(job_id)
        except NotFound:
            pass
