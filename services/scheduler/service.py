"""SchedulerService over gRPC: decode, validate, call the store, wake dispatch."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from switchyard.core.batching import Coalescer
from switchyard.core.telemetry import current_trace_headers
from switchyard.errors import InvalidArgument, SwitchyardError
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.proto.v1 import scheduler_pb2_grpc as rpc
from switchyard.services.scheduler import pipelines, validation
from switchyard.services.scheduler.dispatch import Dispatcher
from switchyard.services.scheduler.job_changes import FINAL
from switchyard.services.scheduler.pipeline_store import PipelineStore
from switchyard.services.scheduler.queue_store import QueueStore
from switchyard.services.scheduler.report_store import ReportStore
from switchyard.services.scheduler.store import SchedulerStore, Submission
from switchyard.services.scheduler.worker_store import WorkerStore

Ctx: TypeAlias = grpc.aio.ServicerContext
DEFAULT_LIST = 100
MAX_LIST = 10_000
MAX_SUBMITS = 1_000


class SchedulerServicer(rpc.SchedulerServiceServicer):
    def __init__(
        self,
        store: SchedulerStore,
        queues: QueueStore,
        reports: ReportStore,
        workers: WorkerStore,
        pipeline_store: PipelineStore,
        dispatch: Dispatcher,
    ) -> None:
        self.store = store
        self.queues = queues
        self.reports = reports
        self.workers = workers
        self.pipelines = pipeline_store
        self.dispatch = dispatch
        # Concurrent submits share statements (group commit); two batches in
        # flight overlap their waits for the WAL flush.
        self._submits: Coalescer[Submission, pb.Job] = Coalescer(store.submit_many, max_in_flight=2)

    # -- users ------------------------------------------------------------------

    async def SubmitJob(self, request: pb.SubmitJobRequest, context: Ctx) -> pb.SubmitJobResponse:
        spec = validation.spec(request.spec)
        job = await self._submits(Submission(spec, _trace(request)))
        self.dispatch.wake()
        return pb.SubmitJobResponse(job=job)

    async def SubmitJobs(
        self, request: pb.SubmitJobsRequest, context: Ctx
    ) -> pb.SubmitJobsResponse:
        """Each submit as SubmitJob would take it, in one transaction; each fails alone."""
        if len(request.submits) > MAX_SUBMITS:
            raise InvalidArgument(f"at most {MAX_SUBMITS} submits a call", field="submits")
        checked: list[Submission | SwitchyardError] = []
        for item in request.submits:
            try:
                checked.append(Submission(validation.spec(item.spec), _trace(item)))
            except SwitchyardError as exc:
                checked.append(exc)
        valid = [c for c in checked if isinstance(c, Submission)]
        stored = iter(await self.store.submit_many(valid) if valid else [])
        self.dispatch.wake()
        outcomes = [c if isinstance(c, SwitchyardError) else next(stored) for c in checked]
        return pb.SubmitJobsResponse(results=[_result(o) for o in outcomes])

    async def GetJob(self, request: pb.GetJobRequest, context: Ctx) -> pb.GetJobResponse:
        return pb.GetJobResponse(job=await self.store.get(validation.job_id(request.job_id)))

    async def ListJobs(self, request: pb.ListJobsRequest, context: Ctx) -> pb.ListJobsResponse:
        limit = _limit(request.limit)
        states = [pb.JobState.Name(s).removeprefix("JOB_") for s in request.states]
        jobs = await self.store.list_jobs(request.queue, states, request.name, limit)
        return pb.ListJobsResponse(jobs=jobs)

    async def CancelJob(self, request: pb.CancelJobRequest, context: Ctx) -> pb.CancelJobResponse:
        job = await self.store.cancel(validation.job_id(request.job_id))
        self.dispatch.wake()
        return pb.CancelJobResponse(job=job)

    async def GetJobLogs(
        self, request: pb.GetJobLogsRequest, context: Ctx
    ) -> pb.GetJobLogsResponse:
        job_id = validation.job_id(request.job_id)
        job = await self.store.get(job_id)  # read first: logs are complete once it is final
        text, last = await self.workers.logs(job_id, request.after_seq)
        finished = pb.JobState.Name(job.state).removeprefix("JOB_") in FINAL
        return pb.GetJobLogsResponse(text=text, last_seq=last, finished=finished)

    # -- queues -----------------------------------------------------------------

    async def PutQueue(self, request: pb.PutQueueRequest, context: Ctx) -> pb.PutQueueResponse:
        q = validation.queue(request)
        await self.queues.put(q.name, q.max_cpus or None, q.max_gpus or None)
        self.dispatch.wake()
        return pb.PutQueueResponse()

    async def CreateQueue(
        self, request: pb.CreateQueueRequest, context: Ctx
    ) -> pb.CreateQueueResponse:
        name = validation.queue_name(request.name)
        queue = await self.queues.create(name, validation.queue_limits(request))
        return pb.CreateQueueResponse(queue=queue)

    async def GetQueue(self, request: pb.GetQueueRequest, context: Ctx) -> pb.GetQueueResponse:
        return pb.GetQueueResponse(queue=await self.queues.get(validation.queue_name(request.name)))

    async def UpdateQueue(
        self, request: pb.UpdateQueueRequest, context: Ctx
    ) -> pb.UpdateQueueResponse:
        name = validation.queue_name(request.name)
        changes: dict[str, float | bool | None] = {**validation.queue_limits(request)}
        if request.HasField("paused"):
            changes["paused"] = request.paused
        queue = await self.queues.update(name, changes)
        self.dispatch.wake()  # a resume or a higher limit may admit jobs now
        return pb.UpdateQueueResponse(queue=queue)

    async def DeleteQueue(
        self, request: pb.DeleteQueueRequest, context: Ctx
    ) -> pb.DeleteQueueResponse:
        await self.queues.delete(validation.queue_name(request.name))
        return pb.DeleteQueueResponse()

    # -- pipelines --------------------------------------------------------------

    async def RunPipeline(
        self, request: pb.RunPipelineRequest, context: Ctx
    ) -> pb.RunPipelineResponse:
        pipeline = await self.pipelines.run(pipelines.validate(request.spec))
        self.dispatch.wake()
        return pb.RunPipelineResponse(pipeline=pipeline)

    async def GetPipeline(
        self, request: pb.GetPipelineRequest, context: Ctx
    ) -> pb.GetPipelineResponse:
        pipeline_id = validation.pipeline_id(request.pipeline_id)
        return pb.GetPipelineResponse(pipeline=await self.pipelines.get(pipeline_id))

    async def ListPipelines(
        self, request: pb.ListPipelinesRequest, context: Ctx
    ) -> pb.ListPipelinesResponse:
        limit = _limit(request.limit)
        states = [pb.PipelineState.Name(s).removeprefix("PIPELINE_") for s in request.states]
        found, token = await self.pipelines.page(states, limit, request.page_token)
        return pb.ListPipelinesResponse(pipelines=found, next_page_token=token)

    async def CancelPipeline(
        self, request: pb.CancelPipelineRequest, context: Ctx
    ) -> pb.CancelPipelineResponse:
        pipeline_id = validation.pipeline_id(request.pipeline_id)
        pipeline = await self.pipelines.cancel(pipeline_id)
        self.dispatch.wake()  # the queues its jobs held may admit others now
        return pb.CancelPipelineResponse(pipeline=pipeline)

    async def ListQueues(
        self, request: pb.ListQueuesRequest, context: Ctx
    ) -> pb.ListQueuesResponse:
        return pb.ListQueuesResponse(queues=await self.queues.list())

    async def ListWorkers(
        self, request: pb.ListWorkersRequest, context: Ctx
    ) -> pb.ListWorkersResponse:
        pool = validation.pool(request.pool, "pool") if request.pool else ""
        return pb.ListWorkersResponse(workers=await self.workers.live(pool))

    # -- trainer-workers --------------------------------------------------------

    async def RegisterWorker(
        self, request: pb.RegisterWorkerRequest, context: Ctx
    ) -> pb.RegisterWorkerResponse:
        if not request.worker_id:
            raise InvalidArgument("worker_id must be set", field="worker_id")
        validation.pool(request.pool)
        await self.dispatch.ensure_pool(request.pool)
        await self.workers.register(request)
        self.dispatch.wake()
        return pb.RegisterWorkerResponse()

    async def Heartbeat(self, request: pb.HeartbeatRequest, context: Ctx) -> pb.HeartbeatResponse:
        return await self.workers.heartbeat(request.worker_id, request.jobs)

    async def StartJob(self, request: pb.StartJobRequest, context: Ctx) -> pb.StartJobResponse:
        validation.job_id(request.job_id)
        reply = await self.reports.start(request)
        if reply.job.state == pb.JOB_RETRYING:  # a gang restarts: admit it again soon
            self.dispatch.wake()
        return reply

    async def StartJobs(self, request: pb.StartJobsRequest, context: Ctx) -> pb.StartJobsResponse:
        for start in request.starts:
            validation.job_id(start.job_id)
        replies = await self.reports.start_many(request.starts)
        if any(r.job.state == pb.JOB_RETRYING for r in replies):
            self.dispatch.wake()
        return pb.StartJobsResponse(replies=replies)

    async def FinishJob(self, request: pb.FinishJobRequest, context: Ctx) -> pb.FinishJobResponse:
        validation.job_id(request.job_id)
        job = await self.reports.finish(request)
        self.dispatch.wake()
        return pb.FinishJobResponse(job=job)

    async def FinishJobs(
        self, request: pb.FinishJobsRequest, context: Ctx
    ) -> pb.FinishJobsResponse:
        for finish in request.finishes:
            validation.job_id(finish.job_id)
        jobs = await self.reports.finish_many(request.finishes)
        self.dispatch.wake()
        return pb.FinishJobsResponse(jobs=jobs)

    async def AppendLogs(
        self, request: pb.AppendLogsRequest, context: Ctx
    ) -> pb.AppendLogsResponse:
        validation.job_id(request.job_id)
        await self.workers.append_logs(request)
        return pb.AppendLogsResponse()


def _trace(item: pb.SubmitJobRequest) -> dict[str, str]:
    """The submitter's trace from the item, else this call's."""
    return dict(item.trace) if item.trace else current_trace_headers()


def _result(outcome: pb.Job | BaseException) -> pb.SubmitJobResult:
    if isinstance(outcome, pb.Job):
        return pb.SubmitJobResult(job=outcome)
    if not isinstance(outcome, SwitchyardError):
        raise outcome  # unexpected: the whole call fails as INTERNAL
    error = pb.RpcError(code=outcome.code.name, message=outcome.message, field=outcome.field or "")
    return pb.SubmitJobResult(error=error)


def _limit(asked: int) -> int:
    """A listing's size: 0 means the default."""
    limit = asked or DEFAULT_LIST
    if limit < 0 or limit > MAX_LIST:
        raise InvalidArgument(f"limit must be 1..{MAX_LIST}", field="limit")
    return limit
