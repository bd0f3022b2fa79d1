"""What the tuner publishes, and the events it follows.

Publishing: each function writes one event into the caller's transaction
through the outbox; the subject is always the study id, so one study's
events stay in order.

Following: durable consumers of `sy.tracking.metrics.logged` (a trial's
intermediate values) and `sy.scheduler.job.succeeded|failed|cancelled` (a
trial's job ended). The handlers only record what happened, idempotently,
in the tuner's tables (any replica may receive any event) and wake the
study's driver, which decides: prune, finish, launch the next trial.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import asyncpg

from switchyard.core import event_types as et
from switchyard.core.bus import Bus
from switchyard.core.events import Event
from switchyard.core.outbox import Outbox
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.proto.v1 import scheduler_pb2 as spb
from switchyard.proto.v1 import tuner_pb2 as pb

log = logging.getLogger(__name__)

TRIAL_ENV = "SWITCHYARD_TUNER_TRIAL"  # "<study id>:<number>" in a trial job's env
RUNNER_ENV = "SWITCHYARD_TUNER_RUNNER"  # "<study id>:<runner>" in a runner job's env
JOB_OUTCOMES = {
    et.JOB_SUCCEEDED.name: "succeeded",
    et.JOB_FAILED.name: "failed",
    et.JOB_CANCELLED.name: "cancelled",
}
NOT_TRIALS_CACHE = 10_000


async def study_changed(
    outbox: Outbox, conn: asyncpg.Connection, kind: et.EventType, study: pb.Study
) -> None:
    await outbox.add(conn, kind, study.study_id, ev.StudyChanged(study=study))


async def trial_changed(
    outbox: Outbox, conn: asyncpg.Connection, kind: et.EventType, study_name: str, trial: pb.Trial
) -> None:
    payload = ev.TrialChanged(study_name=study_name, trial=trial)
    await outbox.add(conn, kind, trial.study_id, payload)


async def trials_reported(
    outbox: Outbox, conn: asyncpg.Connection, payloads: Sequence[ev.TrialReported]
) -> None:
    batch = [outbox.event(et.TRIAL_REPORTED, p.study_id, p) for p in payloads]
    await outbox.add_events(conn, batch)


async def best_improved(outbox: Outbox, conn: asyncpg.Connection, payload: ev.BestImproved) -> None:
    await outbox.add(conn, et.BEST_IMPROVED, payload.study_id, payload)


# -- following ---------------------------------------------------------------


class Recorder(Protocol):
    """What the followed events change (the store); True: something new."""

    async def trial_of_run(self, run_id: str) -> tuple[str, int, str] | None:
        """(study id, trial number, objective metric) of a running trial's run."""

    async def record_steps(self, study_id: str, number: int, steps: Mapping[int, float]) -> bool:
        """Keep a running trial's intermediate values."""

    async def record_job_end(
        self, study_id: str, number: int, job_id: str, outcome: str, message: str
    ) -> bool:
        """Note how a trial's job ended."""

    async def record_runner_end(
        self, study_id: str, runner: int, job_id: str, outcome: str, message: str
    ) -> bool:
        """Note how a runner job (reused trial processes) ended."""


class Follower:
    """The tuner's event handlers; `wake(study_id)` tells the driver to look."""

    def __init__(self, recorder: Recorder, wake: Callable[[str], None]) -> None:
        self.recorder = recorder
        self.wake = wake
        # Runs seen not to be running trials: most metric events are not ours.
        self._not_trials: OrderedDict[str, None] = OrderedDict()

    async def start(self, bus: Bus) -> None:
        await bus.consume(
            et.METRICS_LOGGED.name, self.on_metrics, durable="tuner-metrics", deliver_new=True
        )
        for kind in (et.JOB_SUCCEEDED, et.JOB_FAILED, et.JOB_CANCELLED):
            durable = f"tuner-{kind.name.rsplit('.', 1)[-1]}"
            await bus.consume(kind.name, self.on_job_end, durable=durable, deliver_new=True)

    async def on_metrics(self, event: Event) -> None:
        data = event.data
        if not isinstance(data, ev.MetricsLogged) or data.run_id in self._not_trials:
            return
        found = await self.recorder.trial_of_run(data.run_id)
        if found is None:
            self._not_trials[data.run_id] = None
            if len(self._not_trials) > NOT_TRIALS_CACHE:
                self._not_trials.popitem(last=False)
            return
        study_id, number, metric = found
        steps = {
            step: value
            for series in data.series
            if series.key == metric
            for step, value in zip(series.steps, series.values, strict=False)
        }
        if steps and await self.recorder.record_steps(study_id, number, steps):
            self.wake(study_id)

    async def on_job_end(self, event: Event) -> None:
        data = event.data
        if not isinstance(data, ev.JobChanged):
            return
        env = data.job.spec.env
        tag = env.get(TRIAL_ENV, "") or env.get(RUNNER_ENV, "")
        if not tag:
            return
        study_id, _, number = tag.partition(":")
        outcome = JOB_OUTCOMES.get(event.type, "failed")
        message = _job_message(data.job)
        record = (
            self.recorder.record_job_end if TRIAL_ENV in env else self.recorder.record_runner_end
        )
        if await record(study_id, int(number), data.job.job_id, outcome, message):
            self.wake(study_id)


def _job_message(job: spb.Job) -> str:
    if job.message:
        return job.message
    if job.has_exit_code and job.exit_code != 0:
        return f"the trial's job exited with code {job.exit_code}"
    return ""
