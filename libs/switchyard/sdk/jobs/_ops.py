"""Each scheduler call once: the RPC it makes, its request, how to read the reply.

Replies stay protos (`pb.Job`, `pb.Pipeline`); the clients wrap them in
handles that know their client (`Job`, `AsyncJob`, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from switchyard.errors import SwitchyardError, from_status
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk.arguments import checked
from switchyard.sdk.jobs import _queues as queues
from switchyard.sdk.jobs._queues import UNCHANGED, Limit, Queue, Unchanged
from switchyard.sdk.jobs._specs import pipeline_state_labels, state_labels
from switchyard.sdk.rpcs import Op, none
from switchyard.sdk.rpcs import scheduler as rpc


def _outcome(result: pb.SubmitJobResult) -> pb.Job | SwitchyardError:
    if result.HasField("job"):
        return result.job
    return from_status(result.error.code, result.error.message, result.error.field)


def submit_job(request: pb.SubmitJobRequest) -> Op[pb.Job]:
    return Op(rpc.SUBMIT_JOB, request, lambda r: r.job)


def submit_jobs(requests: Sequence[pb.SubmitJobRequest]) -> Op[list[pb.Job | SwitchyardError]]:
    """Several callers' submits in one call; each keeps its own job or error."""
    req = pb.SubmitJobsRequest(submits=requests)
    return Op(rpc.SUBMIT_JOBS, req, lambda r: [_outcome(x) for x in r.results])


@checked
def get_job(job_id: str) -> Op[pb.Job]:
    return Op(rpc.GET_JOB, pb.GetJobRequest(job_id=job_id), lambda r: r.job)


@checked
def list_jobs(
    queue: str | None, states: Iterable[str] | str | None, name: str | None, limit: int
) -> Op[list[pb.Job]]:
    req = pb.ListJobsRequest(
        queue=queue or "", states=state_labels(states), name=name or "", limit=limit
    )
    return Op(rpc.LIST_JOBS, req, lambda r: list(r.jobs))


@checked
def cancel_job(job_id: str) -> Op[pb.Job]:
    return Op(rpc.CANCEL_JOB, pb.CancelJobRequest(job_id=job_id), lambda r: r.job)


@checked
def job_logs(job_id: str, after_seq: int) -> Op[pb.GetJobLogsResponse]:
    req = pb.GetJobLogsRequest(job_id=job_id, after_seq=after_seq)
    return Op(rpc.GET_JOB_LOGS, req, lambda r: r)


@checked
def put_queue(name: str, max_cpus: float | None, max_gpus: int | None) -> Op[None]:
    req = pb.PutQueueRequest(name=name, max_cpus=max_cpus or 0.0, max_gpus=max_gpus or 0)
    return Op(rpc.PUT_QUEUE, req, none)


@checked
def create_queue(
    name: str, max_cpus: Limit, max_gpus: Limit, max_memory: Limit, max_jobs: Limit
) -> Op[Queue]:
    req = queues.create_request(name, max_cpus, max_gpus, max_memory, max_jobs)
    return Op(rpc.CREATE_QUEUE, req, lambda r: Queue.from_proto(r.queue))


@checked
def get_queue(name: str) -> Op[Queue]:
    req = pb.GetQueueRequest(name=name)
    return Op(rpc.GET_QUEUE, req, lambda r: Queue.from_proto(r.queue))


def list_queues() -> Op[list[Queue]]:
    req = pb.ListQueuesRequest()
    return Op(rpc.LIST_QUEUES, req, lambda r: [Queue.from_proto(q) for q in r.queues])


@checked
def update_queue(
    name: str,
    max_cpus: Limit | Unchanged = UNCHANGED,
    max_gpus: Limit | Unchanged = UNCHANGED,
    max_memory: Limit | Unchanged = UNCHANGED,
    max_jobs: Limit | Unchanged = UNCHANGED,
    paused: bool | None = None,
) -> Op[Queue]:
    req = queues.update_request(name, max_cpus, max_gpus, max_memory, max_jobs, paused)
    return Op(rpc.UPDATE_QUEUE, req, lambda r: Queue.from_proto(r.queue))


@checked
def delete_queue(name: str) -> Op[None]:
    return Op(rpc.DELETE_QUEUE, pb.DeleteQueueRequest(name=name), none)


def run_pipeline(spec: pb.PipelineSpec) -> Op[pb.Pipeline]:
    return Op(rpc.RUN_PIPELINE, pb.RunPipelineRequest(spec=spec), lambda r: r.pipeline)


@checked
def get_pipeline(pipeline_id: str) -> Op[pb.Pipeline]:
    req = pb.GetPipelineRequest(pipeline_id=pipeline_id)
    return Op(rpc.GET_PIPELINE, req, lambda r: r.pipeline)


@checked
def list_pipelines(
    state: Iterable[str] | str | None, limit: int, page_token: str | None
) -> Op[pb.ListPipelinesResponse]:
    req = pb.ListPipelinesRequest(
        limit=limit, states=pipeline_state_labels(state), page_token=page_token or ""
    )
    return Op(rpc.LIST_PIPELINES, req, lambda r: r)


@checked
def cancel_pipeline(pipeline_id: str) -> Op[pb.Pipeline]:
    req = pb.CancelPipelineRequest(pipeline_id=pipeline_id)
    return Op(rpc.CANCEL_PIPELINE, req, lambda r: r.pipeline)


class LogLines:
    """Log pieces as they come, cut into whole lines (the last kept until it ends)."""

    def __init__(self) -> None:
        self.rest = ""

    def feed(self, piece: str) -> list[str]:
        *lines, self.rest = (self.rest + piece).split("\n")
        return lines
