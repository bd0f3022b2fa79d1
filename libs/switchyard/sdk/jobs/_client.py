"""`sy.JobsClient`: the scheduler's calls, blocking."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from switchyard.core.batching import ThreadCoalescer
from switchyard.core.config import Settings
from switchyard.core.telemetry import current_trace_headers
from switchyard.errors import SwitchyardError
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk.entities import PagedList
from switchyard.sdk.jobs import _ops as ops
from switchyard.sdk.jobs._handles import Job, PipelineRun
from switchyard.sdk.jobs._queues import UNCHANGED, Queue, Unchanged
from switchyard.sdk.jobs._rerun import rerun_spec
from switchyard.sdk.jobs._specs import job_spec
from switchyard.sdk.rpcs import scheduler as rpc
from switchyard.sdk.transport import Transport

if TYPE_CHECKING:
    from switchyard.sdk.scheduler_pipelines import Pipeline


class JobsClient:
    """Talks to the scheduler; `sy.submit_job` & co. use one made on first use.

    It is safe to share between threads. Submits from several threads at
    once share calls: what is submitted while a call is in flight goes in
    the next one (SubmitJobs), and each still returns its own job or error.
    `AsyncJobsClient` has the same methods as coroutines.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        settings: Settings | None = None,
        timeout: float | None = 30.0,
    ) -> None:
        self.settings = settings or Settings()
        self.transport = Transport(self.settings, addresses={"scheduler": address}, timeout=timeout)
        self.address = self.transport.address("scheduler")
        self._submits: ThreadCoalescer[pb.SubmitJobRequest, pb.Job] = ThreadCoalescer(
            self._submit_batch, max_in_flight=2
        )

    @property
    def _stub(self) -> Any:
        """The generated stub, for tests that play a worker's part."""
        return self.transport.stub(rpc.SERVICE)

    def __enter__(self) -> JobsClient:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel (idempotent)."""
        self.transport.close()

    def submit_job(
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
        timeout: float | None = None,
        gang_size: int = 1,
        experiment: str | None = None,
        max_worker_losses: int = 0,
    ) -> Job:
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
        return Job(self._submits(request), self)

    def _submit_batch(self, requests: list[pb.SubmitJobRequest]) -> list[pb.Job | BaseException]:
        try:
            if len(requests) == 1:  # alone: the plain call, its status its own
                return [self.transport.call(ops.submit_job(requests[0]))]
            return list(self.transport.call(ops.submit_jobs(requests)))
        except SwitchyardError as exc:
            # One error each: callers raise them on their own threads.
            return [copy.copy(exc) for _ in requests]

    def resubmit(self, job_id: str) -> Job:
        """A new job with the same spec as `job_id` (to run again what failed or ended)."""
        spec = self.get_job(job_id).spec
        request = pb.SubmitJobRequest(spec=spec, trace=current_trace_headers())
        return Job(self._submits(request), self)

    def rerun(self, job_id: str, *, allow_code_change: bool = False, **overrides: Any) -> Job:
        """Submit `job_id` again with the code and parameters it ran with; returns the new job.

        Overrides: name, env (merged into the job's), pool, queue, priority, cpus,
        memory, gpus, timeout, max_retries, experiment. The new job's run is tagged
        `switchyard.rerun_of`; a worker whose code is not the version the job's run
        recorded fails it at start unless `allow_code_change` (see `_rerun`).
        """
        origin = self.transport.call(ops.get_job(job_id))
        tags: dict[str, str] = {}
        if origin.run_id:
            from switchyard.sdk.client import Client

            with Client(settings=self.settings) as tracking:
                tags = tracking.get_run(origin.run_id).data.tags
        spec = rerun_spec(origin, tags, allow_code_change=allow_code_change, **overrides)
        request = pb.SubmitJobRequest(spec=spec, trace=current_trace_headers())
        return Job(self._submits(request), self)

    def get_job(self, job_id: str) -> Job:
        return Job(self.transport.call(ops.get_job(job_id)), self)

    def list_jobs(
        self,
        *,
        queue: str | None = None,
        states: Iterable[str] | None = None,
        name: str | None = None,
        limit: int = 100,
    ) -> list[Job]:
        return [
            Job(j, self) for j in self.transport.call(ops.list_jobs(queue, states, name, limit))
        ]

    def cancel_job(self, job_id: str) -> Job:
        """Cancel a job (a running one stops on its worker); cancelling twice is fine."""
        return Job(self.transport.call(ops.cancel_job(job_id)), self)

    def put_queue(
        self, name: str, *, max_cpus: float | None = None, max_gpus: int | None = None
    ) -> None:
        """Create a queue, or replace its CPU and GPU quota (None: no limit); the
        strict forms are `create_queue` and `update_queue`."""
        self.transport.call(ops.put_queue(name, max_cpus, max_gpus))

    def create_queue(
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
        return self.transport.call(ops.create_queue(name, max_cpus, max_gpus, max_memory, max_jobs))

    def get_queue(self, name: str) -> Queue:
        """A queue's limits, what its jobs hold and how many wait (NotFound if none)."""
        return self.transport.call(ops.get_queue(name))

    def list_queues(self) -> list[Queue]:
        """Every queue, by name."""
        return self.transport.call(ops.list_queues())

    def update_queue(
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
        return self.transport.call(ops.update_queue(name, max_cpus, max_gpus, max_memory, max_jobs))

    def delete_queue(self, name: str) -> None:
        """Delete a queue; refused (FailedPrecondition) while jobs wait or run in it."""
        self.transport.call(ops.delete_queue(name))

    def pause_queue(self, name: str) -> Queue:
        """Admit nothing more from the queue; its jobs wait, running ones go on."""
        return self.transport.call(ops.update_queue(name, paused=True))

    def resume_queue(self, name: str) -> Queue:
        """Admit the queue's jobs again."""
        return self.transport.call(ops.update_queue(name, paused=False))

    def get_job_logs(self, job_id: str) -> str:
        """The job's output so far."""
        return self.transport.call(ops.job_logs(job_id, 0)).text

    def follow_job_logs(self, job_id: str, *, poll: float = 0.25) -> Iterator[str]:
        """The job's output, line by line as it comes, until the job ends."""
        lines, seq = ops.LogLines(), 0
        while True:
            reply = self.transport.call(ops.job_logs(job_id, seq))
            yield from lines.feed(reply.text)
            moved, seq = reply.last_seq != seq, reply.last_seq
            if reply.finished and not moved:
                break
            if not moved:
                time.sleep(poll)
        if lines.rest:
            yield lines.rest

    def run_pipeline(self, pipeline: Pipeline, *, cache: bool = True) -> PipelineRun:
        """Start a pipeline; returns at once (`.wait()` for the end). Each step's
        code is digested now, for its cache key; `cache=False` runs every step."""
        spec = pipeline.to_proto(cache=cache)
        return PipelineRun(self.transport.call(ops.run_pipeline(spec)), self)

    def get_pipeline(self, pipeline_id: str) -> PipelineRun:
        return PipelineRun(self.transport.call(ops.get_pipeline(pipeline_id)), self)

    def list_pipelines(
        self,
        *,
        state: Iterable[str] | str | None = None,
        limit: int = 50,
        page_token: str | None = None,
    ) -> PagedList[PipelineRun]:
        """The newest pipeline runs first, in `state` (a name or several; None: all),
        without their steps (`get_pipeline` has them); `.token` asks for the next page."""
        found = self.transport.call(ops.list_pipelines(state, limit, page_token))
        return PagedList([PipelineRun(p, self) for p in found.pipelines], found.next_page_token)

    def cancel_pipeline(self, pipeline_id: str) -> PipelineRun:
        """Cancel its running steps and start no other; CANCELLED once they have
        stopped (`.wait()`); an ended pipeline comes back as it is."""
        return PipelineRun(self.transport.call(ops.cancel_pipeline(pipeline_id)), self)
