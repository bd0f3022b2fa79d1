"""Handles on what the scheduler runs: a job or a pipeline as last seen,
which `refresh()`, `wait()` and `cancel()` update through the client
that made it. `Job`/`PipelineRun` block; `AsyncJob`/`AsyncPipelineRun` are
the same with coroutines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from switchyard.errors import DeadlineExceeded
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk.jobs import _ops as ops
from switchyard.sdk.jobs._specs import FINAL_STATES, state_name

if TYPE_CHECKING:
    from switchyard.sdk.jobs._async_client import AsyncJobsClient
    from switchyard.sdk.jobs._client import JobsClient

PIPELINE_FINAL_STATES = frozenset(("SUCCEEDED", "FAILED", "CANCELLED"))
_FIRST_POLL = 0.01  # doubled up to `poll`: short jobs are seen done soon


class JobView:
    """A job's fields as last seen."""

    def __init__(self, proto: pb.Job) -> None:
        self._proto = proto

    @property
    def id(self) -> str:
        return self._proto.job_id

    @property
    def name(self) -> str:
        return self._proto.spec.name

    @property
    def state(self) -> str:
        return state_name(self._proto.state)

    @property
    def attempt(self) -> int:
        return self._proto.attempt

    @property
    def exit_code(self) -> int | None:
        return self._proto.exit_code if self._proto.has_exit_code else None

    @property
    def message(self) -> str:
        return self._proto.message

    @property
    def run_id(self) -> str | None:
        return self._proto.run_id or None

    @property
    def retries(self) -> int:
        return self._proto.retries

    @property
    def worker_losses(self) -> int:
        return self._proto.worker_losses

    @property
    def worker_id(self) -> str:
        return self._proto.worker_id

    @property
    def spec(self) -> pb.JobSpec:
        return self._proto.spec

    @property
    def done(self) -> bool:
        return self.state in FINAL_STATES

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(id={self.id!r}, name={self.name!r}, state={self.state},"
            f" attempt={self.attempt})"
        )


class Job(JobView):
    def __init__(self, proto: pb.Job, client: JobsClient) -> None:
        super().__init__(proto)
        self._client = client

    def refresh(self) -> Job:
        self._proto = self._client.transport.call(ops.get_job(self.id))
        return self

    def wait(self, timeout: float | None = None, *, poll: float = 0.5) -> Job:
        """Block until the job is final; DeadlineExceeded after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = _FIRST_POLL
        while not self.refresh().done:
            if deadline is not None and time.monotonic() >= deadline:
                raise DeadlineExceeded(f"job {self.id} is still {self.state} after {timeout} s")
            time.sleep(interval)
            interval = min(interval * 2, poll)
        return self

    def cancel(self) -> Job:
        self._proto = self._client.transport.call(ops.cancel_job(self.id))
        return self

    def logs(self, follow: bool = False) -> Any:
        """The output so far (str); with `follow=True`, `follow_logs()`."""
        return self.follow_logs() if follow else self._client.get_job_logs(self.id)

    def follow_logs(self) -> Iterator[str]:
        """The output's lines as they come, until the job ends."""
        return self._client.follow_job_logs(self.id)


class AsyncJob(JobView):
    def __init__(self, proto: pb.Job, client: AsyncJobsClient) -> None:
        super().__init__(proto)
        self._client = client

    async def refresh(self) -> AsyncJob:
        self._proto = await self._client.transport.call(ops.get_job(self.id))
        return self

    async def wait(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 (as Job.wait's)
        *,
        poll: float = 0.5,
    ) -> AsyncJob:
        """Until the job is final; DeadlineExceeded after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = _FIRST_POLL
        while not (await self.refresh()).done:
            if deadline is not None and time.monotonic() >= deadline:
                raise DeadlineExceeded(f"job {self.id} is still {self.state} after {timeout} s")
            await asyncio.sleep(interval)
            interval = min(interval * 2, poll)
        return self

    async def cancel(self) -> AsyncJob:
        self._proto = await self._client.transport.call(ops.cancel_job(self.id))
        return self

    async def logs(self) -> str:
        """The output so far."""
        return await self._client.get_job_logs(self.id)

    def follow_logs(self) -> AsyncIterator[str]:
        """The output's lines as they come, until the job ends."""
        return self._client.follow_job_logs(self.id)


class PipelineView:
    """A pipeline run's fields as last seen."""

    def __init__(self, proto: pb.Pipeline) -> None:
        self._proto = proto

    @property
    def id(self) -> str:
        return self._proto.pipeline_id

    @property
    def name(self) -> str:
        return self._proto.spec.name

    @property
    def step_names(self) -> list[str]:
        """The steps the pipeline defines (`steps` are the runs of them so far)."""
        return [s.name for s in self._proto.spec.steps]

    @property
    def created_ms(self) -> int:
        return self._proto.created_ms

    @property
    def finished_ms(self) -> int:
        return self._proto.finished_ms

    @property
    def state(self) -> str:
        return pb.PipelineState.Name(self._proto.state).removeprefix("PIPELINE_")  # type: ignore[arg-type]

    @property
    def message(self) -> str:
        return self._proto.message

    @property
    def cancel_requested(self) -> bool:
        """A cancel came; the steps it stopped may still be ending."""
        return self._proto.cancel_requested

    @property
    def steps(self) -> list[pb.StepRun]:
        """The step runs so far: state, outputs, `cached` and `cache_key` (sha256 hex);
        a step that never ran (after a failure or a cancel) has one run, SKIPPED."""
        return list(self._proto.steps)

    @property
    def skipped(self) -> list[str]:
        """The steps that never ran and never will."""
        return [s.step for s in self._proto.steps if s.state == "SKIPPED"]

    @property
    def done(self) -> bool:
        return self.state in PIPELINE_FINAL_STATES

    def outputs(self, step: str) -> list[dict[str, str]]:
        return [dict(s.outputs) for s in self._proto.steps if s.step == step]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, state={self.state})"


class PipelineRun(PipelineView):
    def __init__(self, proto: pb.Pipeline, client: JobsClient) -> None:
        super().__init__(proto)
        self._client = client

    def refresh(self) -> PipelineRun:
        self._proto = self._client.transport.call(ops.get_pipeline(self.id))
        return self

    def wait(self, timeout: float | None = None, *, poll: float = 0.1) -> PipelineRun:
        """Block until the pipeline is final; DeadlineExceeded after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.refresh().done:
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlineExceeded(f"pipeline {self.id} is still {self.state}")
            time.sleep(poll)
        return self

    def cancel(self) -> PipelineRun:
        self._proto = self._client.transport.call(ops.cancel_pipeline(self.id))
        return self


class AsyncPipelineRun(PipelineView):
    def __init__(self, proto: pb.Pipeline, client: AsyncJobsClient) -> None:
        super().__init__(proto)
        self._client = client

    async def refresh(self) -> AsyncPipelineRun:
        self._proto = await self._client.transport.call(ops.get_pipeline(self.id))
        return self

    async def wait(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 (as PipelineRun.wait's)
        *,
        poll: float = 0.1,
    ) -> AsyncPipelineRun:
        """Until the pipeline is final; DeadlineExceeded after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not (await self.refresh()).done:
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlineExceeded(f"pipeline {self.id} is still {self.state}")
            await asyncio.sleep(poll)
        return self

    async def cancel(self) -> AsyncPipelineRun:
        self._proto = await self._client.transport.call(ops.cancel_pipeline(self.id))
        return self
