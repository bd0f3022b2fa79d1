"""Jobs: `sy.submit_job(...)` and the `Job` it returns, over the scheduler's gRPC API.

    job = sy.jobs.submit(["python", "train.py"], gpus=1, experiment="fraud")
    job.wait()
    print(job.state, job.exit_code, job.logs())

`JobsClient` blocks and `AsyncJobsClient` is the same as coroutines; the
functions here use one process-wide `JobsClient`, made on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

from switchyard.core.config import Settings
from switchyard.sdk.jobs._async_client import AsyncJobsClient
from switchyard.sdk.jobs._client import JobsClient
from switchyard.sdk.jobs._handles import AsyncJob, AsyncPipelineRun, Job, PipelineRun
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


__all__ = [
    "FINAL_STATES",
    "STATES",
    "AsyncJob",
    "AsyncJobsClient",
    "AsyncPipelineRun",
    "Job",
    "JobsClient",
    "PipelineRun",
    "cancel_job",
    "default_client",
    "get_job",
    "job_spec",
    "list_jobs",
    "parse_memory_mb",
    "reset",
    "submit_job",
]
