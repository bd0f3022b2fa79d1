"""TrackingService over gRPC: decode the request, validate, call the store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeAlias

import grpc

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.proto.v1 import tracking_pb2_grpc as rpc
from switchyard.services.tracking import metric_store, run_writes, validation, writes
from switchyard.services.tracking.store import TrackingStore

Ctx: TypeAlias = grpc.aio.ServicerContext
DEFAULT_HISTORY_PAGE = 100_000


class TrackingServicer(rpc.TrackingServiceServicer):
    def __init__(self, store: TrackingStore) -> None:
        self.store = store
        self.experiments = store.experiments

    # -- experiments ------------------------------------------------------------

    async def CreateExperiment(
        self, request: pb.CreateExperimentRequest, context: Ctx
    ) -> pb.CreateExperimentResponse:
        name = validation.name(request.name, "name")
        tags = validation.tags(request.tags)
        experiment = await self.experiments.create_experiment(name, request.artifact_location, tags)
        return pb.CreateExperimentResponse(experiment=experiment)

    async def GetExperiment(
        self, request: pb.GetExperimentRequest, context: Ctx
    ) -> pb.GetExperimentResponse:
        exp_id = validation.experiment_id(request.experiment_id)
        return pb.GetExperimentResponse(experiment=await self.experiments.get_experiment(exp_id))

    async def GetExperimentByName(
        self, request: pb.GetExperimentByNameRequest, context: Ctx
    ) -> pb.GetExperimentResponse:
        name = validation.name(request.name, "name")
        return pb.GetExperimentResponse(
            experiment=await self.experiments.get_experiment_by_name(name)
        )

    async def SearchExperiments(
        self, request: pb.SearchExperimentsRequest, context: Ctx
    ) -> pb.SearchExperimentsResponse:
        limit = validation.max_results(request.max_results)
        found, token = await self.experiments.search_experiments(
            request.filter, request.view_type, list(request.order_by), request.page_token, limit
        )
        return pb.SearchExperimentsResponse(experiments=found, next_page_token=token)

    async def UpdateExperiment(
        self, request: pb.UpdateExperimentRequest, context: Ctx
    ) -> pb.UpdateExperimentResponse:
        exp_id = validation.experiment_id(request.experiment_id)
        name = validation.name(request.new_name, "new_name")
        return pb.UpdateExperimentResponse(
            experiment=await self.experiments.update_experiment(exp_id, name)
        )

    async def DeleteExperiment(
        self, request: pb.DeleteExperimentRequest, context: Ctx
    ) -> pb.DeleteExperimentResponse:
        await self.experiments.set_experiment_lifecycle(
            validation.experiment_id(request.experiment_id), "deleted"
        )
        return pb.DeleteExperimentResponse()

    async def RestoreExperiment(
        self, request: pb.RestoreExperimentRequest, context: Ctx
    ) -> pb.RestoreExperimentResponse:
        await self.experiments.set_experiment_lifecycle(
            validation.experiment_id(request.experiment_id), "active"
        )
        return pb.RestoreExperimentResponse()

    async def SetExperimentTag(
        self, request: pb.SetExperimentTagRequest, context: Ctx
    ) -> pb.SetExperimentTagResponse:
        exp_id = validation.experiment_id(request.experiment_id)
        tags = validation.tags({request.key: request.value})
        await self.experiments.set_experiment_tag(exp_id, request.key, tags[request.key])
        return pb.SetExperimentTagResponse()

    # -- runs -------------------------------------------------------------------

    async def CreateRun(self, request: pb.CreateRunRequest, context: Ctx) -> pb.CreateRunResponse:
        r = writes.new_run(request)
        run = await self.store.create_run(
            r.run_id, r.experiment_id, r.name, r.user_id, r.start_time, r.tags, r.parent
        )
        return pb.CreateRunResponse(run=run)

    async def GetRun(self, request: pb.GetRunRequest, context: Ctx) -> pb.GetRunResponse:
        return pb.GetRunResponse(run=await self.store.get_run(validation.run_id(request.run_id)))

    async def UpdateRun(self, request: pb.UpdateRunRequest, context: Ctx) -> pb.UpdateRunResponse:
        u = writes.update(request)
        info = await self.store.update_run(u.run_id, u.status, u.end_time, u.name)
        return pb.UpdateRunResponse(run_info=info)

    async def DeleteRun(self, request: pb.DeleteRunRequest, context: Ctx) -> pb.DeleteRunResponse:
        await self.store.set_run_lifecycle(validation.run_id(request.run_id), "deleted")
        return pb.DeleteRunResponse()

    async def RestoreRun(
        self, request: pb.RestoreRunRequest, context: Ctx
    ) -> pb.RestoreRunResponse:
        await self.store.set_run_lifecycle(validation.run_id(request.run_id), "active")
        return pb.RestoreRunResponse()

    async def SetTag(self, request: pb.SetTagRequest, context: Ctx) -> pb.SetTagResponse:
        run_id = validation.run_id(request.run_id)
        await self.store.set_tags(run_id, validation.tags({request.key: request.value}))
        return pb.SetTagResponse()

    async def DeleteTag(self, request: pb.DeleteTagRequest, context: Ctx) -> pb.DeleteTagResponse:
        run_id = validation.run_id(request.run_id)
        await self.store.set_tags(run_id, {}, [validation.key(request.key, "key")])
        return pb.DeleteTagResponse()

    async def LogBatch(self, request: pb.LogBatchRequest, context: Ctx) -> pb.LogBatchResponse:
        b = writes.batch(request)
        await self.store.log_batch(b.run_id, b.series, b.params, b.tags)
        return pb.LogBatchResponse()

    async def StreamMetrics(
        self, request_iterator: AsyncIterator[pb.StreamMetricsRequest], context: Ctx
    ) -> pb.StreamMetricsResponse:
        # Each message commits as it arrives: what was acknowledged stays.
        written = 0
        async for request in request_iterator:
            run_id = validation.run_id(request.run_id)
            written += await self.store.log_batch(run_id, validation.series(request.series), {}, {})
        return pb.StreamMetricsResponse(metrics_written=written)

    async def WriteRuns(
        self, request_iterator: AsyncIterator[pb.RunWrite], context: Ctx
    ) -> AsyncIterator[pb.WriteRunsResponse]:
        async for response in run_writes.write_runs(self.store, request_iterator):
            yield response

    async def LogInputs(self, request: pb.LogInputsRequest, context: Ctx) -> pb.LogInputsResponse:
        run_id = validation.run_id(request.run_id)
        for i, item in enumerate(request.dataset_inputs):
            if not item.dataset.name or not item.dataset.digest:
                raise InvalidArgument(
                    f"dataset_inputs[{i}].dataset needs a name and a digest", field="dataset_inputs"
                )
        await self.store.log_inputs(run_id, list(request.dataset_inputs))
        return pb.LogInputsResponse()

    async def SearchRuns(
        self, request: pb.SearchRunsRequest, context: Ctx
    ) -> pb.SearchRunsResponse:
        limit = validation.max_results(request.max_results)
        exp_ids = [validation.experiment_id(e, "experiment_ids") for e in request.experiment_ids]
        if not exp_ids:
            raise InvalidArgument(
                "experiment_ids must name at least one experiment", field="experiment_ids"
            )
        runs, token = await self.store.search_runs(
            exp_ids,
            request.filter,
            request.view_type,
            list(request.order_by),
            request.page_token,
            limit,
        )
        return pb.SearchRunsResponse(runs=runs, next_page_token=token)

    async def GetMetricHistory(
        self, request: pb.GetMetricHistoryRequest, context: Ctx
    ) -> pb.GetMetricHistoryResponse:
        run_id = validation.run_id(request.run_id)
        key = validation.key(request.key, "key")
        if request.max_points < 0 or request.page_size < 0:
            raise InvalidArgument(
                "max_points and page_size must not be negative", field="max_points"
            )
        low = request.min_step if request.HasField("min_step") else None
        high = request.max_step if request.HasField("max_step") else None
        if low is not None and high is not None and low > high:
            raise InvalidArgument(f"min_step {low} is past max_step {high}", field="min_step")
        async with self.store.db.pool.acquire() as conn:
            await self.store.run_info(conn, run_id)
            history = await self.store.metrics.history(conn, run_id, key)
        if low is not None or high is not None:
            history = history.window(low, high)
        if request.max_points:
            return pb.GetMetricHistoryResponse(
                history=metric_store.downsample(history, key, request.max_points)
            )
        series, token = metric_store.page(
            history, key, request.page_size or DEFAULT_HISTORY_PAGE, request.page_token
        )
        return pb.GetMetricHistoryResponse(history=series, next_page_token=token)


__all__ = ["TrackingServicer"]
