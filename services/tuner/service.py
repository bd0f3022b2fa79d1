"""TunerService over gRPC: decode the request, validate, call the domain."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.proto.v1 import tuner_pb2_grpc as rpc
from switchyard.services.tuner import records, studies, validation
from switchyard.services.tuner.claims import Claims
from switchyard.services.tuner.driver import Driver
from switchyard.services.tuner.store import TunerStore
from switchyard.services.tuner.tracking import Tracking

Ctx: TypeAlias = grpc.aio.ServicerContext
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class TunerServicer(rpc.TunerServiceServicer):
    def __init__(
        self, store: TunerStore, tracking: Tracking, driver: Driver, claims: Claims
    ) -> None:
        self.store = store
        self.tracking = tracking
        self.driver = driver
        self.claims = claims

    async def CreateStudy(
        self, request: pb.CreateStudyRequest, context: Ctx
    ) -> pb.CreateStudyResponse:
        study = await studies.create(self.store, self.tracking, request.spec)
        self.driver.wake(study.study_id)
        return pb.CreateStudyResponse(study=study)

    async def GetStudy(self, request: pb.GetStudyRequest, context: Ctx) -> pb.GetStudyResponse:
        if request.study_id:
            study = await self.store.get_study(validation.study_id(request.study_id))
        elif request.name:
            study = await self.store.get_study(None, request.name)
        else:
            raise InvalidArgument("give a study_id or a name", field="study_id")
        return pb.GetStudyResponse(study=study)

    async def ListStudies(
        self, request: pb.ListStudiesRequest, context: Ctx
    ) -> pb.ListStudiesResponse:
        limit = request.limit or DEFAULT_LIMIT
        if not 0 < limit <= MAX_LIMIT:
            raise InvalidArgument(f"limit must be 1..{MAX_LIMIT}", field="limit")
        states = [_study_state(s) for s in request.states]
        return pb.ListStudiesResponse(studies=await self.store.list_studies(states, limit))

    async def StopStudy(self, request: pb.StopStudyRequest, context: Ctx) -> pb.StopStudyResponse:
        study = await self.store.stop_study(validation.study_id(request.study_id))
        self.driver.wake(study.study_id)
        return pb.StopStudyResponse(study=study)

    async def ListTrials(
        self, request: pb.ListTrialsRequest, context: Ctx
    ) -> pb.ListTrialsResponse:
        study_id = validation.study_id(request.study_id)
        states = [_trial_state(s) for s in request.states]
        return pb.ListTrialsResponse(trials=await self.store.list_trials(study_id, states))

    async def NextTrial(self, request: pb.NextTrialRequest, context: Ctx) -> pb.NextTrialResponse:
        study_id = validation.study_id(request.study_id)
        if request.HasField("finished"):
            self.driver.wake(request.study_id)
        reply = await self.claims.next_trial(study_id, request)
        self.driver.wake(request.study_id)  # a trial ended or was taken: top the queue up
        return reply

    async def TrialStatus(
        self, request: pb.TrialStatusRequest, context: Ctx
    ) -> pb.TrialStatusResponse:
        study_id = validation.study_id(request.study_id)
        return await self.claims.trial_status(study_id, request.number)


def _study_state(value: int) -> str:
    if value not in records.STUDY_NAMES:
        raise InvalidArgument(f"unknown study state {value}", field="states")
    return records.STUDY_NAMES[value]  # type: ignore[index]


def _trial_state(value: int) -> str:
    if value not in records.TRIAL_NAMES:
        raise InvalidArgument(f"unknown trial state {value}", field="states")
    return records.TRIAL_NAMES[value]  # type: ignore[index]
