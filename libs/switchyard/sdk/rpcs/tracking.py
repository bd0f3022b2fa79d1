"""TrackingService's RPCs."""

from __future__ import annotations

from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.proto.v1 import tracking_pb2_grpc
from switchyard.sdk.rpcs import Rpc, Service

SERVICE = Service("tracking", tracking_pb2_grpc.TrackingServiceStub)

CREATE_EXPERIMENT = Rpc(
    SERVICE, "CreateExperiment", pb.CreateExperimentRequest, pb.CreateExperimentResponse
)
GET_EXPERIMENT = Rpc(
    SERVICE, "GetExperiment", pb.GetExperimentRequest, pb.GetExperimentResponse, retry=True
)
GET_EXPERIMENT_BY_NAME = Rpc(
    SERVICE,
    "GetExperimentByName",
    pb.GetExperimentByNameRequest,
    pb.GetExperimentResponse,
    retry=True,
)
SEARCH_EXPERIMENTS = Rpc(
    SERVICE,
    "SearchExperiments",
    pb.SearchExperimentsRequest,
    pb.SearchExperimentsResponse,
    retry=True,
)
UPDATE_EXPERIMENT = Rpc(
    SERVICE, "UpdateExperiment", pb.UpdateExperimentRequest, pb.UpdateExperimentResponse
)
DELETE_EXPERIMENT = Rpc(
    SERVICE, "DeleteExperiment", pb.DeleteExperimentRequest, pb.DeleteExperimentResponse
)
RESTORE_EXPERIMENT = Rpc(
    SERVICE, "RestoreExperiment", pb.RestoreExperimentRequest, pb.RestoreExperimentResponse
)
SET_EXPERIMENT_TAG = Rpc(
    SERVICE,
    "SetExperimentTag",
    pb.SetExperimentTagRequest,
    pb.SetExperimentTagResponse,
    retry=True,
)
CREATE_RUN = Rpc(SERVICE, "CreateRun", pb.CreateRunRequest, pb.CreateRunResponse)
GET_RUN = Rpc(SERVICE, "GetRun", pb.GetRunRequest, pb.GetRunResponse, retry=True)
UPDATE_RUN = Rpc(SERVICE, "UpdateRun", pb.UpdateRunRequest, pb.UpdateRunResponse)
DELETE_RUN = Rpc(SERVICE, "DeleteRun", pb.DeleteRunRequest, pb.DeleteRunResponse, retry=True)
RESTORE_RUN = Rpc(SERVICE, "RestoreRun", pb.RestoreRunRequest, pb.RestoreRunResponse, retry=True)
SET_TAG = Rpc(SERVICE, "SetTag", pb.SetTagRequest, pb.SetTagResponse, retry=True)
DELETE_TAG = Rpc(SERVICE, "DeleteTag", pb.DeleteTagRequest, pb.DeleteTagResponse)
# Not retried: a repeat would store its metric points twice.
LOG_BATCH = Rpc(SERVICE, "LogBatch", pb.LogBatchRequest, pb.LogBatchResponse)
STREAM_METRICS = Rpc(
    SERVICE,
    "StreamMetrics",
    pb.StreamMetricsRequest,
    pb.StreamMetricsResponse,
    streaming=True,
)
# The fluent API's pipelined runs; acknowledged write by write, never retried.
WRITE_RUNS = Rpc(
    SERVICE, "WriteRuns", pb.RunWrite, pb.WriteRunsResponse, streaming=True, replies=True
)
LOG_INPUTS = Rpc(SERVICE, "LogInputs", pb.LogInputsRequest, pb.LogInputsResponse)
SEARCH_RUNS = Rpc(SERVICE, "SearchRuns", pb.SearchRunsRequest, pb.SearchRunsResponse, retry=True)
GET_METRIC_HISTORY = Rpc(
    SERVICE,
    "GetMetricHistory",
    pb.GetMetricHistoryRequest,
    pb.GetMetricHistoryResponse,
    retry=True,
)
