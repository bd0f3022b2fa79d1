"""The worker's pulse: scheduler heartbeats, in-progress acks, cancellations.

Every `EVERY_S` the worker tells the scheduler it is alive and which job
attempts it runs; the answer names the attempts to stop (cancelled, or no
longer the job's own: a retry or a restarted gang owns it now). Every
`PROGRESS_EVERY_S` each running job's message gets an in-progress ack so
JetStream does not redeliver it while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import grpc

from switchyard.core.jobs import PROGRESS_EVERY_S
from switchyard.proto.v1 import scheduler_pb2 as pb

if TYPE_CHECKING:
    from switchyard.services.trainer_worker.execution import Execution

log = logging.getLogger(__name__)
EVERY_S = 0.5


class Heartbeat:
    def __init__(
        self,
        worker_id: str,
        stub: object,
        running: dict[str, Execution],
        register: Callable[[], Awaitable[None]],
    ) -> None:
        self.worker_id = worker_id
        self.stub = stub
        self.running = running
        self.register = register

    async def run(self) -> None:
        last_progress = time.monotonic()
        while True:
            await asyncio.sleep(EVERY_S)
            jobs = [
                pb.RunningJob(job_id=e.job_id, attempt=e.attempt, rank=e.rank)
                for e in list(self.running.values())
                if e.attempt
            ]
            try:
                reply = await self.stub.Heartbeat(  # type: ignore[attr-defined]
                    pb.HeartbeatRequest(worker_id=self.worker_id, jobs=jobs), timeout=5
                )
                if reply.unknown_worker:
                    await self.register()
                for execution in self._to_stop(reply):
                    log.info(
                        "stopping a job",
                        extra={"job_id": execution.job_id, "attempt": execution.attempt},
                    )
                    execution.cancel()
            except grpc.aio.AioRpcError as exc:
                log.warning("heartbeat failed", extra={"error": exc.code().name})
            if time.monotonic() - last_progress >= PROGRESS_EVERY_S:
                last_progress = time.monotonic()
                for execution in list(self.running.values()):
                    with contextlib.suppress(Exception):
                        await execution.msg.in_progress()

    def _to_stop(self, reply: pb.HeartbeatResponse) -> list[Execution]:
        """The executions the reply names: by (job, attempt), or by job from an older scheduler.

        Only started ones (attempt set): a rank still asking to start may
        belong to the job's next attempt, and StartJob answers it.
        """
        running = [e for e in list(self.running.values()) if e.attempt]
        if reply.stop:
            stop = {(j.job_id, j.attempt) for j in reply.stop}
            return [e for e in running if (e.job_id, e.attempt) in stop]
        jobs = set(reply.cancel_job_ids)
        return [e for e in running if e.job_id in jobs]
