"""TunerService's RPCs."""

from __future__ import annotations

from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.proto.v1 import tuner_pb2_grpc
from switchyard.sdk.rpcs import Rpc, Service

SERVICE = Service("tuner", tuner_pb2_grpc.TunerServiceStub)

CREATE_STUDY = Rpc(SERVICE, "CreateStudy", pb.CreateStudyRequest, pb.CreateStudyResponse)
GET_STUDY = Rpc(SERVICE, "GetStudy", pb.GetStudyRequest, pb.GetStudyResponse, retry=True)
LIST_STUDIES = Rpc(
    SERVICE, "ListStudies", pb.ListStudiesRequest, pb.ListStudiesResponse, retry=True
)
STOP_STUDY = Rpc(SERVICE, "StopStudy", pb.StopStudyRequest, pb.StopStudyResponse, retry=True)
LIST_TRIALS = Rpc(SERVICE, "ListTrials", pb.ListTrialsRequest, pb.ListTrialsResponse, retry=True)
# Reused trial processes; NextTrial is idempotent (a runner asking again
# without ending its trial gets it back), so it is safe to send again.
NEXT_TRIAL = Rpc(SERVICE, "NextTrial", pb.NextTrialRequest, pb.NextTrialResponse, retry=True)
TRIAL_STATUS = Rpc(
    SERVICE, "TrialStatus", pb.TrialStatusRequest, pb.TrialStatusResponse, retry=True
)
