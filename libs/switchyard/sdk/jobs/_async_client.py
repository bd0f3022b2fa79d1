"""`sy.AsyncJobsClient`: the scheduler's calls as coroutines, for services
(the tuner, the gateway) and async code. Same methods as `JobsClient`."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from switchyard.core.batching import Coalescer
from switchyard.core.config import Settings
from switchyard.core.telemetry import current_trace_headers
from switchyard.errors import SwitchyardError
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk.entities import PagedList
from switchyard.sdk.jobs import _ops as ops
from switchyard.sdk.jobs._handles import AsyncJob, AsyncPipelineRun
from switchyard.sdk.jobs._queues import UNCHANGED, Queue, Unchanged
from switchyard.sdk.jobs._rerun import rerun_spec
from switchyard.sdk.jobs._specs import job_spec
from switchyard.sdk.transport import AsyncTransport

if TYPE_CHECKING:
    from switchyard.sdk.scheduler_pipelines import Pipeline


class AsyncJobsClient:
    """Talks to the scheduler from one event loop. Submits made while one is
    in flight go together in the next call (SubmitJobs); each still returns
    its own job or error."""

    def __init__(
        self,
        address: str | None = None,
        *,
        settings: Settings | None = None,
        timeout: float | None = 30.0,
    ) -> None:
        self.settings = settings or Settings()
        self.transport = AsyncTransport(
            self.settings, addresses={"scheduler": address}, timeout=timeout
        )
        self.address = self.transport.address("scheduler")
        self._submits: Coalescer[pb.SubmitJobRequest, pb.Job] = Coalescer(
            self._submit_batch, max_in_flight=2
        )

    async def __aenter__(self) -> AsyncJobsClient:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel (idempotent)."""
        await self.transport.close()

    async def submit_job(
        self,
        command: str | Sequence[str],
        *,
        name: str | None = None,
        pool: str = "default",
        queue: str = "default",
        priority: int = 0,
        cpus: float = 1.0,
        memory: int | str | None = None,
        gpus: int = 0,
        gpu_type: str | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
        max_retries: int = 0,
        timeout: float | None = None,  # noqa: ASYNC109 (the job's limit, not this call's)
        gang_size: int = 1,
        experiment: str | None = None,
        max_worker_losses: int = 0,
    ) -> AsyncJob:
        """Queue a job: argv (or a shell line) with its resources; returns at once."""
        spec = job_spec(
            command,
            name=name,
            pool=pool,
            queue=queue,
            priority=priority,
            cpus=cpus,
            memory=memory,
            gpus=gpus,
            gpu_type=gpu_type,
            env=env,
            workdir=workdir,
            max_retries=max_retries,
            timeout=timeout,
            gang_size=gang_size,
            experiment=experiment,
            max_worker_losses=max_worker_losses,
        )
        request = pb.SubmitJobRequest(spec=spec, trace=current_trace_headers())
        return AsyncJob(await self._submits(request), self)

    async def _submit_batch(
        self, requests: list[pb.SubmitJobRequest]
    ) -> list[pb.Job | BaseException]:
        try:
            if len(requests) == 1:  # alone: the plain call, its status its own
                return [await self.transport.call(ops.submit_job(requests[0]))]
            return list(await self.transport.call(ops.submit_jobs(requests)))
        except SwitchyardError as exc:
            return [copy.copy(exc) for _ in requests]

    async def resubmit(self, job_id: str) -> AsyncJob:
        """A new job with the same spec as `job_id` (to run again what failed or ended)."""
        spec = (await self.get_job(job_id)).spec
        request = pb.SubmitJobRequest(spec=spec, trace=current_trace_headers())
        return AsyncJob(await self._submits(request), self)

    async def rerun(
        self, job_id: str, *, allow_code_change: bool = False, **overrides: Any
    ) -> AsyncJob:
        """`JobsClient.rerun`, awaited."""
        origin = await self.transport.call(ops.get_job(job_id))
        tags: dict[str, str] = {}
        if origin.run_id:
            from switchyard.sdk.async_client import AsyncClient

            async with AsyncClient(settings=self.settings) as tracking:
                tags = (await tracking.get_run(origin.run_id)).data.tags
        spec = rerun_spec(origin, tags, allow_code_change=allow_code_change, **overrides)
        request = pb.SubmitJobRequest(spec=spec, trace=current_trace_headers())
        return AsyncJob(await self._submits(request), self)

    async def get_job(self, job_id: str) -> AsyncJob:
        return AsyncJob(await self.transport.call(ops.get_job(job_id)), self)

    async def list_jobs(
        self,
        *,
        queue: str | None = None,
        states: Iterable[str] | None = None,
        name: str | None = None,
        limit: int = 100,
    ) -> list[AsyncJob]:
        found = await self.transport.call(ops.list_jobs(queue, states, name, limit))
        return [AsyncJob(j, self) for j in found]

    async def cancel_job(self, job_id: str) -> AsyncJob:
        """Cancel a job (a running one stops on its worker); cancelling twice is fine."""
        return AsyncJob(await self.transport.call(ops.cancel_job(job_id)), self)

    async def put_queue(
        self, name: str, *, max_cpus: float | None = None, max_gpus: int | None = None
    ) -> None:
        """Create a queue, or replace its CPU and GPU quota (None: no limit); the
        strict forms are `create_queue` and `update_queue`."""
        await self.transport.call(ops.put_queue(name, max_cpus, max_gpus))

    async def create_queue(
        self,
        name: str,
        *,
        max_cpus: float | None = None,
        max_gpus: int | None = None,
        max_memory: int | str | None = None,
        max_jobs: int | None = None,
    ) -> Queue:
        """A new queue (AlreadyExists if there). Its limits bound what its admitted and
        running jobs hold together, every gang process counted; None: no limit.
        Memory is MB or a size string ('64G')."""
        return await self.transport.call(
            ops.create_queue(name, max_cpus, max_gpus, max_memory, max_jobs)
        )

    async def get_queue(self, name: str) -> Queue:
        """A queue's limits, what its jobs hold and how many wait (NotFound if none)."""
        return await self.transport.call(ops.get_queue(name))

    async def list_queues(self) -> list[Queue]:
        """Every queue, by name."""
        return await self.transport.call(ops.list_queues())

    async def update_queue(
        self,
        name: str,
        *,
        max_cpus: float | Unchanged | None = UNCHANGED,
        max_gpus: int | Unchanged | None = UNCHANGED,
        max_memory: int | str | Unchanged | None = UNCHANGED,
        max_jobs: int | Unchanged | None = UNCHANGED,
    ) -> Queue:
        """Change the limits given (None lifts one) and keep the others. Refused
        (FailedPrecondition) where a waiting job would no longer ever fit."""
        return await self.transport.call(
            ops.update_queue(name, max_cpus, max_gpus, max_memory, max_jobs)
        )

    async def delete_queue(self, name: str) -> None:
        """Delete a queue; refused (FailedPrecondition) while jobs wait or run in it."""
        await self.transport.call(ops.delete_queue(name))

    async def pause_queue(self, name: str) -> Queue:
        """Admit nothing more from the queue; its jobs wait, running ones go on."""
        return await self.transport.call(ops.update_queue(name, paused=True))

    async def resume_queue(self, name: str) -> Queue:
        """Admit the queue's jobs again."""
        return await self.transport.call(ops.update_queue(name, paused=False))

    async def get_job_logs(self, job_id: str) -> str:
        """The job's output so far."""
        return (await self.transport.call(ops.job_logs(job_id, 0))).text

    async def follow_job_logs(self, job_id: str, *, poll: float = 0.25) -> AsyncIterator[str]:
        """The job's output, line by line as it comes, until the job ends."""
        lines, seq = ops.LogLines(), 0
        while True:
            reply = await self.transport.call(ops.job_logs(job_id, seq))
            for line in lines.feed(reply.text):
                yield line
            moved, seq = reply.last_seq != seq, reply.last_seq
            if reply.finished and not moved:
                break
            if not moved:
                await asyncio.sleep(poll)
        if lines.rest:
            yield lines.rest

    async def run_pipeline(self, pipeline: Pipeline, *, cache: bool = True) -> AsyncPipelineRun:
        """Start a pipeline; returns at once (`.wait()` for the end). Each step's
        code is digested now (in a thread: it reads files); `cache=False` runs every step."""
        spec = await asyncio.to_thread(pipeline.to_proto, cache=cache)
        started = await self.transport.call(ops.run_pipeline(spec))
        return AsyncPipelineRun(started, self)

    async def get_pipeline(self, pipeline_id: str) -> AsyncPipelineRun:
        return AsyncPipelineRun(await self.transport.call(ops.get_pipeline(pipeline_id)), self)

    async def list_pipelines(
        self,
        *,
        state: Iterable[str] | str | None = None,
        limit: int = 50,
        page_token: str | None = None,
    ) -> PagedList[AsyncPipelineRun]:
        """The newest pipeline runs first, in `state` (a name or several; None: all),
        without their steps (`get_pipeline` has them); `.token` asks for the next page."""
        found = await self.transport.call(ops.list_pipelines(state, limit, page_token))
        runs = [AsyncPipelineRun(p, self) for p in found.pipelines]
        return PagedList(runs, found.next_page_token)

    async def cancel_pipeline(self, pipeline_id: str) -> AsyncPipelineRun:
        """Cancel its running steps and start no other; CANCELLED once they have
        stopped (`.wait()`); an ended pipeline comes back as it is."""
        return AsyncPipelineRun(await self.transport.call(ops.cancel_pipeline(pipeline_id)), self)
