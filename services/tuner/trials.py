"""A trial as a scheduler job: its run, its job spec, its submission.

Order matters for restarts: the trial's row is written first (so a metric
event for its run always finds it), then its run is made and recorded, then
its job is submitted under a name unique to the trial and recorded. A
tuner killed between two of these steps resumes from the row
(`Launcher.resume`): a missing run is made, and a job is looked up by its
name before it is submitted again, so no trial runs twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from switchyard.core.scheduler_client import Scheduler
from switchyard.proto.v1 import scheduler_pb2 as spb
from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.services.tuner import space as spaces
from switchyard.services.tuner.events import TRIAL_ENV
from switchyard.services.tuner.space import Space, Value
from switchyard.services.tuner.store import TunerStore
from switchyard.services.tuner.tracking import Tracking

log = logging.getLogger(__name__)
RUN_ID_ENV = "SWITCHYARD_RUN_ID"


def trial_name(study_name: str, number: int) -> str:
    return f"{study_name}-trial-{number}"


def job_spec(
    template: spb.JobSpec,
    space: Space,
    params: Mapping[str, Value],
    *,
    name: str,
    run_id: str,
    study_id: str,
    number: int,
) -> spb.JobSpec:
    """The trial's job: the template with its parameters in the command and env.

    No `experiment`: the trial's run exists already and reaches the job as
    SWITCHYARD_RUN_ID, so `sy.log_metric` in the job logs into it.
    """
    spec = spb.JobSpec()
    spec.CopyFrom(template)
    spec.name = name
    spec.experiment = ""
    del spec.command[:]
    spec.command.extend(spaces.command(template.command, space, params))
    spec.env.update(spaces.env(params))
    spec.env[RUN_ID_ENV] = run_id
    spec.env[TRIAL_ENV] = f"{study_id}:{number}"
    return spec


@dataclass(frozen=True)
class StudyContext:
    """What launching a study's trials needs to know of the study."""

    study_id: uuid.UUID
    spec: pb.StudySpec
    space: Space
    run_id: str
    experiment_id: str


class Launcher:
    def __init__(self, store: TunerStore, scheduler: Scheduler, tracking: Tracking) -> None:
        self.store = store
        self.scheduler = scheduler
        self.tracking = tracking

    async def launch(self, study: StudyContext, number: int, params: Mapping[str, Value]) -> None:
        await self.store.add_trial(study.study_id, number, params)
        await self.resume(study, number, params, run_id="")

    async def resume(
        self, study: StudyContext, number: int, params: Mapping[str, Value], run_id: str
    ) -> None:
        """Give a recorded trial its run and its job, whichever it lacks."""
        name = trial_name(study.spec.name, number)
        may_have_job = bool(run_id)  # a job is submitted only once its run is recorded
        if not run_id:
            run_id = await self.tracking.trial_run(
                study.experiment_id, study.run_id, study.study_id.hex, name, params
            )
            await self.store.set_trial_run(study.study_id, number, run_id)
        job_id = await self.scheduler.find(name) if may_have_job else None
        if job_id is None:
            spec = job_spec(
                study.spec.trial,
                study.space,
                params,
                name=name,
                run_id=run_id,
                study_id=study.study_id.hex,
                number=number,
            )
            job_id = await self.scheduler.submit(spec)
        await self.store.set_trial_job(study.study_id, number, job_id)
        log.info(
            "trial started", extra={"study": study.spec.name, "trial": number, "job_id": job_id}
        )

    async def stop(self, job_id: str, run_id: str) -> None:
        """Stop a trial that ended early (pruned, or its study ended): its job and run."""
        if job_id:
            await self.scheduler.cancel(job_id)
        if run_id:
            await self.tracking.end_run(run_id, "KILLED")
