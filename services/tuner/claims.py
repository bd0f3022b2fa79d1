"""Answering reused trial processes: `NextTrial` and `TrialStatus`.

Any replica may answer a runner: ending its trial and claiming the next
are single idempotent statements (queue_store.py). When nothing is queued
yet, the answer waits a little for the driver to queue more (woken in this
process by `notify`, polling for other replicas' drivers) so a runner does
not spin; it then asks again. The servicer wakes the study's driver after
each answer (a trial ended or was taken: the queue is topped up).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.services.tuner.queue_store import QueueStore
from switchyard.services.tuner.store import TunerStore
from switchyard.services.tuner.tracking import Tracking

WAIT_S = 2.0  # longest wait for a queued trial before "ask again"
POLL_S = 0.05  # for trials queued by another replica's driver


class Claims:
    def __init__(self, queue: QueueStore, store: TunerStore, tracking: Tracking) -> None:
        self.queue = queue
        self.store = store
        self.tracking = tracking
        self._queued = asyncio.Event()

    def notify(self) -> None:
        """The driver queued trials."""
        self._queued.set()

    async def next_trial(
        self, study_id: uuid.UUID, request: pb.NextTrialRequest
    ) -> pb.NextTrialResponse:
        spec = await self.store.spec(study_id)
        if request.HasField("finished"):
            if not await self.queue.end_trial(study_id, request.runner, request.finished):
                await self._ended_before(study_id, request.finished)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while True:
            self._queued.clear()
            trial = await self.queue.claim(study_id, request.runner)
            if trial is not None:
                return pb.NextTrialResponse(
                    has_trial=True,
                    number=trial.number,
                    params=trial.params,
                    run_id=trial.run_id,
                    metrics=[o.metric for o in spec.objectives],
                    pruning=bool(spec.early_stopping.rule),
                )
            if await self.queue.no_more(study_id):
                return pb.NextTrialResponse(done=True)
            left = deadline - loop.time()
            if left <= 0:
                return pb.NextTrialResponse()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queued.wait(), min(POLL_S, left))

    async def _ended_before(self, study_id: uuid.UUID, result: pb.TrialResult) -> None:
        """The driver pruned this trial while its runner finished it (judged at its
        last step): the runner ended the run FINISHED, so the run follows the trial."""
        state, _ = await self.queue.trial_state(study_id, result.number)
        if state == pb.TRIAL_PRUNED and result.state == pb.TRIAL_COMPLETED:
            run_id = await self.queue.trial_run_id(study_id, result.number)
            if run_id:
                await self.tracking.end_run(run_id, "KILLED")

    async def trial_status(self, study_id: uuid.UUID, number: int) -> pb.TrialStatusResponse:
        state, message = await self.queue.trial_state(study_id, number)
        return pb.TrialStatusResponse(state=state, message=message)
