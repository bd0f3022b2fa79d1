"""SchedulerService's RPCs that clients make (workers have their own)."""

from __future__ import annotations

from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.proto.v1 import scheduler_pb2_grpc
from switchyard.sdk.rpcs import Rpc, Service

SERVICE = Service("scheduler", scheduler_pb2_grpc.SchedulerServiceStub)

SUBMIT_JOB = Rpc(SERVICE, "SubmitJob", pb.SubmitJobRequest, pb.SubmitJobResponse)
SUBMIT_JOBS = Rpc(SERVICE, "SubmitJobs", pb.SubmitJobsRequest, pb.SubmitJobsResponse)
GET_JOB = Rpc(SERVICE, "GetJob", pb.GetJobRequest, pb.GetJobResponse, retry=True)
LIST_JOBS = Rpc(SERVICE, "ListJobs", pb.ListJobsRequest, pb.ListJobsResponse, retry=True)
CANCEL_JOB = Rpc(SERVICE, "CancelJob", pb.CancelJobRequest, pb.CancelJobResponse, retry=True)
GET_JOB_LOGS = Rpc(SERVICE, "GetJobLogs", pb.GetJobLogsRequest, pb.GetJobLogsResponse, retry=True)
PUT_QUEUE = Rpc(SERVICE, "PutQueue", pb.PutQueueRequest, pb.PutQueueResponse, retry=True)
RUN_PIPELINE = Rpc(SERVICE, "RunPipeline", pb.RunPipelineRequest, pb.RunPipelineResponse)
GET_PIPELINE = Rpc(
    SERVICE, "GetPipeline", pb.GetPipelineRequest, pb.GetPipelineResponse, retry=True
)
LIST_PIPELINES = Rpc(
    SERVICE, "ListPipelines", pb.ListPipelinesRequest, pb.ListPipelinesResponse, retry=True
)
CANCEL_PIPELINE = Rpc(
    SERVICE, "CancelPipeline", pb.CancelPipelineRequest, pb.CancelPipelineResponse, retry=True
)
LIST_QUEUES = Rpc(SERVICE, "ListQueues", pb.ListQueuesRequest, pb.ListQueuesResponse, retry=True)
LIST_WORKERS = Rpc(
    SERVICE, "ListWorkers", pb.ListWorkersRequest, pb.ListWorkersResponse, retry=True
)
CREATE_QUEUE = Rpc(SERVICE, "CreateQueue", pb.CreateQueueRequest, pb.CreateQueueResponse)
GET_QUEUE = Rpc(SERVICE, "GetQueue", pb.GetQueueRequest, pb.GetQueueResponse, retry=True)
UPDATE_QUEUE = Rpc(
    SERVICE, "UpdateQueue", pb.UpdateQueueRequest, pb.UpdateQueueResponse, retry=True
)
DELETE_QUEUE = Rpc(SERVICE, "DeleteQueue", pb.DeleteQueueRequest, pb.DeleteQueueResponse)
