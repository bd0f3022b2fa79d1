"""Jobs: `sy.submit_job(...)` and the `Job` it returns, over the scheduler's gRPC API.

    job = sy.jobs.submit(["python", "train.py"], gpus=1, experiment="fraud")
    job.wait()
    print(job.state, job.exit_code, job.logs())

    sy.jobs.create_queue("research", max_gpus=8, max_jobs=20)
    sy.jobs.pause_queue("research")     # its jobs wait; running ones go on

`JobsClient` blocks and `AsyncJobsClient` is the same as coroutines; the
functions here use one process-wide `JobsClient`, made on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from switchyard.core.config import Settings
from switchyard.sdk.jobs._async_client import AsyncJobsClient
from switchyard.sdk.jobs._client import JobsClient
from switchyard.sdk.jobs._handles import AsyncJob, AsyncPipelineRun, Job, PipelineRun
from switchyard.sdk.jobs._queues import UNCHANGED, Queue, Unchanged
from switchyard.sdk.jobs._specs import FINAL_STATES, STATES, job_spec, parse_memory_mb

_lock = threading.Lock()
_default: JobsClient | None = None


def default_client() -> JobsClient:
    """The process's client (made on first use), which the functions here use."""
    global _default
    with _lock:
        if _default is None:
            _default = JobsClient()
        return _default


def reset(settings: Settings | None = None) -> None:
    """Forget the default client (tests point it at their platform with `settings`)."""
    global _default
    with _lock:
        if _default is not None:
            _default.close()
        _default = JobsClient(settings=settings) if settings is not None else None


def submit_job(
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
    """Queue a job: argv (or a shell line) with its resources; returns at once.

    Each attempt runs on a trainer-worker of `pool`; with `experiment`, each
    attempt gets a tracking run that `sy.log_metric` & co. log into. Memory is
    MB or a size string ('4G'); `timeout` is seconds per attempt.
    """
    return default_client().submit_job(
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


def get_job(job_id: str) -> Job:
    return default_client().get_job(job_id)


def list_jobs(
    *,
    queue: str | None = None,
    states: Iterable[str] | None = None,
    name: str | None = None,
    limit: int = 100,
) -> list[Job]:
    return default_client().list_jobs(queue=queue, states=states, name=name, limit=limit)


def cancel_job(job_id: str) -> Job:
    return default_client().cancel_job(job_id)


def rerun(job_id: str, *, allow_code_change: bool = False, **overrides: Any) -> Job:
    """Submit a job again with the code and parameters it ran with (`JobsClient.rerun`)."""
    return default_client().rerun(job_id, allow_code_change=allow_code_change, **overrides)


def create_queue(
    name: str,
    *,
    max_cpus: float | None = None,
    max_gpus: int | None = None,
    max_memory: int | str | None = None,
    max_jobs: int | None = None,
) -> Queue:
    """A new queue whose limits bound what its admitted and running jobs hold
    together (None: no limit); memory is MB or a size string ('64G')."""
    return default_client().create_queue(
        name, max_cpus=max_cpus, max_gpus=max_gpus, max_memory=max_memory, max_jobs=max_jobs
    )


def get_queue(name: str) -> Queue:
    return default_client().get_queue(name)


def list_queues() -> list[Queue]:
    return default_client().list_queues()


def update_queue(
    name: str,
    *,
    max_cpus: float | Unchanged | None = UNCHANGED,
    max_gpus: int | Unchanged | None = UNCHANGED,
    max_memory: int | str | Unchanged | None = UNCHANGED,
    max_jobs: int | Unchanged | None = UNCHANGED,
) -> Queue:
    """Change the limits given (None lifts one); the others stay."""
    return default_client().update_queue(
        name, max_cpus=max_cpus, max_gpus=max_gpus, max_memory=max_memory, max_jobs=max_jobs
    )


def delete_queue(name: str) -> None:
    """Delete a queue in which no job waits or runs."""
    default_client().delete_queue(name)


def pause_queue(name: str) -> Queue:
    """Admit nothing more from the queue (nothing is cancelled) until `resume_queue`."""
    return default_client().pause_queue(name)


def resume_queue(name: str) -> Queue:
    return default_client().resume_queue(name)


__all__ = [
    "FINAL_STATES",
    "STATES",
    "UNCHANGED",
    "AsyncJob",
    "AsyncJobsClient",
    "AsyncPipelineRun",
    "Job",
    "JobsClient",
    "PipelineRun",
    "Queue",
    "cancel_job",
    "create_queue",
    "default_client",
    "delete_queue",
    "get_job",
    "get_queue",
    "job_spec",
    "list_jobs",
    "list_queues",
    "parse_memory_mb",
    "pause_queue",
    "rerun",
    "reset",
    "resume_queue",
    "submit_job",
    "update_queue",
]
