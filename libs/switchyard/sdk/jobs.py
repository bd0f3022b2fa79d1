"""Jobs: `sy.submit_job(...)` and the `Job` it returns, over the scheduler's gRPC API.

job = sy.submit_job(["python", "train.py"], gpus=1, experiment="fraud")
job.wait()
print(job.state, job.exit_code, job.logs())
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import grpc

from switchyard.core.batching import ThreadCoalescer
from switchyard.core.config import Settings
from switchyard.core.telemetry import current_trace_headers
from switchyard.errors import (
    DeadlineExceeded,
    InvalidArgument,
    SwitchyardError,
    from_rpc_error,
    from_status,
)
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.proto.v1 import scheduler_pb2_grpc as rpc
from switchyard.sdk.channels import sync_channel
from switchyard.sdk.endpoints import discover

STATES = ("QUEUED", "ADMITTED", "RUNNING", "RETRYING", "SUCCEEDED", "FAILED", "CANCELLED")
FINAL_STATES = frozenset(("SUCCEEDED", "FAILED", "CANCELLED"))


def parse_memory_mb(memory: int | str | None) -> int:
    """Megabytes from an int (MB) or a string such as '512M', '4G', '4Gi'."""
    if memory is None:
        return 0
    if isinstance(memory, int):
        return memory
    text = memory.strip().upper().removesuffix("I").removesuffix("B")
    units = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(float(text))
    except ValueError:
        raise InvalidArgument(
            f"memory '{memory}' is not a size like 512M or 4G", field="memory"
        ) from None


def _state_name(state: int) -> str:
    return pb.JobState.Name(state).removeprefix("JOB_")  # type: ignore[arg-type]


def job_spec(
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
) -> pb.JobSpec:
    """The JobSpec message for `submit_job`'s arguments (a str command runs in /bin/sh)."""
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    return pb.JobSpec(
        name=name or "",
        command=argv,
        workdir=workdir or "",
        env={k: str(v) for k, v in (env or {}).items()},
        resources=pb.Resources(
            cpus=cpus, memory_mb=parse_memory_mb(memory), gpus=gpus, gpu_type=gpu_type or ""
        ),
        pool=pool,
        queue=queue,
        priority=priority,
        max_retries=max_retries,
        timeout_s=timeout or 0.0,
        gang_size=gang_size,
        experiment=experiment or "",
        max_worker_losses=max_worker_losses,
    )


class Job:
    """A submitted job as last seen; `refresh()` and `wait()` update it."""

    def __init__(self, proto: pb.Job, client: JobsClient) -> None:
        self._client = client
        self._proto = proto

    @property
    def id(self) -> str:
        return self._proto.job_id

    @property
    def name(self) -> str:
        return self._proto.spec.name

    @property
    def state(self) -> str:
        return _state_name(self._proto.state)

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

    def refresh(self) -> Job:
        self._proto = self._client._call("GetJob", pb.GetJobRequest(job_id=self.id)).job
        return self

    def wait(self, timeout: float | None = None, *, poll: float = 0.5) -> Job:
        """Block until the job is final; DeadlineExceeded after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = 0.01
        while not self.refresh().done:
            if deadline is not None and time.monotonic() >= deadline:
                raise DeadlineExceeded(f"job {self.id} is still {self.state} after {timeout} s")
            time.sleep(interval)
            interval = min(interval * 2, poll)
        return self

    def cancel(self) -> Job:
        self._proto = self._client._call("CancelJob", pb.CancelJobRequest(job_id=self.id)).job
        return self

    def logs(self, follow: bool = False) -> Any:
        """The output so far (str); with `follow=True`, an iterator of lines until the end."""
        if not follow:
            return "".join(self._client.log_pieces(self.id, follow=False))
        return self._lines()

    def _lines(self) -> Iterator[str]:
        rest = ""
        for piece in self._client.log_pieces(self.id, follow=True):
            rest += piece
            *lines, rest = rest.split("\n")
            yield from lines
        if rest:
            yield rest

    def __repr__(self) -> str:
        return (
            f"Job(id={self.id!r}, name={self.name!r}, state={self.state}, attempt={self.attempt})"
        )


def _outcome(result: pb.SubmitJobResult) -> pb.Job | SwitchyardError:
    if result.HasField("job"):
        return result.job
    return from_status(result.error.code, result.error.message, result.error.field)


class JobsClient:
    """Talks to the scheduler; `sy.submit_job` & co. use one made on first use.

    It is safe to share between threads. Submits from several threads at
    once share calls: what is submitted while a call is in flight goes in
    the next one (SubmitJobs), and each still returns its own job or error.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        settings: Settings | None = None,
        timeout: float | None = 30.0,
    ) -> None:
        self.settings = settings or Settings()
        self.address = address or discover(self.settings).address("scheduler")
        self.timeout = timeout
        self._channel = sync_channel(self.address, self.settings)
        self._stub = rpc.SchedulerServiceStub(self._channel)
        self._submits: ThreadCoalescer[pb.SubmitJobRequest, pb.Job] = ThreadCoalescer(
            self._submit_batch, max_in_flight=2
        )

    def __enter__(self) -> JobsClient:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

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
        if len(requests) == 1:  # alone: the plain call, its status its own
            try:
                return [self._call("SubmitJob", requests[0]).job]
            except SwitchyardError as exc:
                return [exc]
        try:
            reply = self._stub.SubmitJobs(
                pb.SubmitJobsRequest(submits=requests), timeout=self.timeout
            )
        except grpc.RpcError as exc:
            return [from_rpc_error(exc) for _ in requests]
        return [_outcome(r) for r in reply.results]

    def get_job(self, job_id: str) -> Job:
        return Job(self._call("GetJob", pb.GetJobRequest(job_id=job_id)).job, self)

    def list_jobs(
        self,
        *,
        queue: str | None = None,
        states: Iterable[str] | None = None,
        name: str | None = None,
        limit: int = 100,
    ) -> list[Job]:
        wanted = []
        for s in states or ():
            if s.upper() not in STATES:
                raise InvalidArgument(
                    f"unknown state '{s}'; one of {', '.join(STATES)}", field="states"
                )
            wanted.append(pb.JobState.Value(f"JOB_{s.upper()}"))
        req = pb.ListJobsRequest(queue=queue or "", states=wanted, name=name or "", limit=limit)
        return [Job(j, self) for j in self._call("ListJobs", req).jobs]

    def put_queue(
        self, name: str, *, max_cpus: float | None = None, max_gpus: int | None = None
    ) -> None:
        """Create or change a queue and its quota (None: no limit)."""
        req = pb.PutQueueRequest(name=name, max_cpus=max_cpus or 0.0, max_gpus=max_gpus or 0)
        self._call("PutQueue", req)

    def log_pieces(self, job_id: str, *, follow: bool, poll: float = 0.25) -> Iterator[str]:
        seq = 0
        while True:
            reply = self._call("GetJobLogs", pb.GetJobLogsRequest(job_id=job_id, after_seq=seq))
            if reply.text:
                yield reply.text
            moved = reply.last_seq != seq
            seq = reply.last_seq
            if not follow or (reply.finished and not moved):
                return
            if not moved:
                time.sleep(poll)


_lock = threading.Lock()
_client: JobsClient | None = None


def _default() -> JobsClient:
    global _client
    with _lock:
        if _client is None:
            _client = JobsClient()
        return _client


def reset(settings: Settings | None = None) -> None:
    """Forget the default client (tests point it at their platform with `settings`)."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = JobsClient(settings=settings) if settings is not None else None


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
) -> Job:
    """Queue a job: argv (or a shell line) with its resources; returns at once.

    Each attempt runs on a trainer-worker of `pool`; with `experiment`, each
    attempt gets a tracking run that `sy.log_metric` & co. log into. Memory is
    MB or a size string ('4G'); `timeout` is seconds per attempt.
    """
    return _default().submit_job(
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
    )


def get_job(job_id: str) -> Job:
    return _default().get_job(job_id)


def list_jobs(**filters: Any) -> list[Job]:
    return _default().list_jobs(**filters)
