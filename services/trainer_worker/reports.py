"""The worker's start and finish reports to the scheduler, batched.

Several jobs start and finish at once on a busy worker (a fetch brings up
to a few messages; short jobs end together). Each kind goes through a
`Coalescer`: a report made while the previous call is in flight rides in
the next `StartJobs` / `FinishJobs` call, one scheduler transaction for
all of them; a lone report goes at once. A failed call fails each report
of its batch, and each caller retries as it would alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.core.batching import Coalescer
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.proto.v1 import scheduler_pb2_grpc as rpc

TIMEOUT_S = 10.0


class Reports:
    def __init__(self, stub: rpc.SchedulerServiceStub) -> None:
        self.stub = stub
        self.start: Coalescer[pb.StartJobRequest, pb.StartJobResponse] = Coalescer(self._starts)
        self.finish: Coalescer[pb.FinishJobRequest, pb.Job] = Coalescer(self._finishes)

    async def _starts(self, batch: list[pb.StartJobRequest]) -> Sequence[pb.StartJobResponse]:
        reply = await self.stub.StartJobs(pb.StartJobsRequest(starts=batch), timeout=TIMEOUT_S)
        return list(reply.replies)

    async def _finishes(self, batch: list[pb.FinishJobRequest]) -> Sequence[pb.Job]:
        reply = await self.stub.FinishJobs(pb.FinishJobsRequest(finishes=batch), timeout=TIMEOUT_S)
        return list(reply.jobs)
