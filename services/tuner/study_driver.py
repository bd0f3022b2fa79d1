"""Driving one study: prune, finish, launch, until the study ends.

A `StudyDriver` exists only in the replica that holds the study's lock
(driver.py). Each `step` reads what the followed events recorded since the
last one, in order: new intermediate values go to the pruner (a trial it
prunes ends PRUNED and its job is cancelled), ended jobs finish their
trials (the final value is the latest value of the objective metric in the
trial's run; no value, or a failed job, is a FAILED trial), then the study
ends or is topped up to `parallel` trials in flight.

Opening a driver rebuilds the optimizer from the stored trials and gives
trials recorded without a job their job (see trials.py), so a driver
killed at any point is replaced without losing or repeating a trial.

With `reuse_processes` trials are queued for long-lived runner jobs
instead of launched as jobs (runners.py); a runner reports each trial's end
(and its values) as a job's end is noted, so finishing is the same, and a
pruned trial keeps its runner: only its run is ended.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.services.tuner import records, validation
from switchyard.services.tuner.optimizer import Optimizer
from switchyard.services.tuner.runners import RunnerPool
from switchyard.services.tuner.store import EndedJob, TunerStore
from switchyard.services.tuner.trials import Launcher, StudyContext

log = logging.getLogger(__name__)

RUN_STATUS = {
    pb.STUDY_COMPLETED: "FINISHED",
    pb.STUDY_FAILED: "FAILED",
    pb.STUDY_STOPPED: "KILLED",
}


class StudyDriver:
    def __init__(
        self,
        study: StudyContext,
        optimizer: Optimizer,
        last_seq: int,
        store: TunerStore,
        launcher: Launcher,
        runners: RunnerPool,
    ) -> None:
        self.study = study
        self.optimizer = optimizer
        self.last_seq = last_seq
        self.store = store
        self.launcher = launcher
        self.runners = runners
        self.reuse = study.spec.reuse_processes
        self._attrs: dict[int, dict[str, Any]] = {}

    @classmethod
    async def open(
        cls, study_id: uuid.UUID, store: TunerStore, launcher: Launcher, runners: RunnerPool
    ) -> StudyDriver:
        row = await store.study_row(study_id)
        space = validation.space(list(row.spec.params))
        trials, last_seq = await store.trial_records(study_id)
        optimizer = Optimizer(row.spec, space, trials)
        study = StudyContext(study_id, row.spec, space, row.run_id, row.experiment_id)
        driver = cls(study, optimizer, last_seq, store, launcher, runners)
        if row.state == pb.STUDY_RUNNING and driver.reuse:
            await runners.resume(study)
        elif row.state == pb.STUDY_RUNNING:
            for number, params, run_id in await store.trials_without_job(study_id):
                await launcher.resume(study, number, params, run_id)
        return driver

    @property
    def name(self) -> str:
        return self.study.spec.name

    async def step(self) -> bool:
        """One look at the study; True once it has ended and nothing of it runs."""
        sid = self.study.study_id
        row = await self.store.study_row(sid)
        if row.state != pb.STUDY_RUNNING:
            await self._stop_running(f"the study was {records.STUDY_NAMES[row.state].lower()}")
            if self.reuse:
                await self.runners.stop(self.study)
            if row.run_id:
                await self.launcher.tracking.end_run(row.run_id, RUN_STATUS[row.state])
            return True
        await self._feed_reports()
        for ended in await self.store.ended_jobs(sid):
            await self._finish(ended)
        spec = self.study.spec
        counts = await self.store.counts(sid)
        failed, running = counts.get("FAILED", 0), counts.get("RUNNING", 0)
        started = sum(counts.values())
        if failed >= spec.max_failed_trials:
            await self._stop_running("the study failed")
            await self._end(pb.STUDY_FAILED, f"{failed} trials failed")
            return True
        elapsed_s = time.time() - row.created_ms / 1000
        if spec.time_budget_s and elapsed_s >= spec.time_budget_s:
            await self._stop_running(
                f"stopped: the time budget of {spec.time_budget_s:g} s ran out"
            )
            await self._end(pb.STUDY_COMPLETED, "the time budget ran out")
            return True
        if started >= spec.max_trials and running == 0:
            await self._end(pb.STUDY_COMPLETED, "")
            return True
        if self.reuse:
            return await self._reuse_step(started, running)
        while running < spec.parallel and started < spec.max_trials:
            number, params = self.optimizer.ask()
            await self.launcher.launch(self.study, number, params)
            running += 1
            started += 1
        return False

    async def _reuse_step(self, started: int, running: int) -> bool:
        now = await self.runners.top_up(self.study, self.optimizer, started)
        lost = await self.runners.keep_up(self.study, running + now - started)
        if lost > self.study.spec.max_failed_trials:  # runners that cannot run at all
            await self._stop_running("the study failed")
            await self._end(pb.STUDY_FAILED, f"{lost} trial runners were lost")
            return True
        return False

    async def _feed_reports(self) -> None:
        sid = self.study.study_id
        running = set(self.optimizer.running)
        for seq, number, step, value in await self.store.steps_after(sid, self.last_seq):
            self.last_seq = seq
            if number not in running:
                continue
            prune = self.optimizer.report(number, step, value)
            attrs = self.optimizer.system_attrs(number)
            if attrs and attrs != self._attrs.get(number):
                self._attrs[number] = attrs
                await self.store.save_system_attrs(sid, number, attrs)
            if prune:
                running.discard(number)
                await self._prune(number, step)

    async def _prune(self, number: int, step: int) -> None:
        sid = self.study.study_id
        message = f"pruned at step {step}"
        trial = await self.store.finish_trial(sid, number, pb.TRIAL_PRUNED, message=message)
        self.optimizer.tell(number, pb.TRIAL_PRUNED)
        self._attrs.pop(number, None)
        if trial is not None:
            log.info("trial pruned", extra={"study": self.name, "trial": number, "step": step})
            # A reused process goes on to its next trial: only the run ends.
            await self.launcher.stop("" if self.reuse else trial.job_id, trial.run_id)

    async def _finish(self, ended: EndedJob) -> None:
        sid = self.study.study_id
        state, values, message = pb.TRIAL_FAILED, [], ended.message
        if ended.outcome == "succeeded" and len(ended.values) == len(self.study.spec.objectives):
            state, values = pb.TRIAL_COMPLETED, list(ended.values)
        elif ended.outcome == "pruned":
            state, message = pb.TRIAL_PRUNED, message or "pruned by the trial"
        elif ended.outcome == "succeeded":
            metrics = [o.metric for o in self.study.spec.objectives]
            found = await self.launcher.tracking.final_values(ended.run_id, metrics)
            if found is None:
                message = f"the trial logged no value of {', '.join(metrics)}"
            else:
                state, values = pb.TRIAL_COMPLETED, found
        elif ended.outcome == "cancelled":
            message = message or "the trial's job was cancelled"
        else:
            message = message or "the trial's job failed"
        await self.store.finish_trial(sid, ended.number, state, values, message)
        self.optimizer.tell(ended.number, state, values)
        self._attrs.pop(ended.number, None)

    async def _stop_running(self, message: str) -> None:
        sid = self.study.study_id
        for number, job_id in await self.store.running_jobs(sid):
            trial = await self.store.finish_trial(sid, number, pb.TRIAL_FAILED, message=message)
            self.optimizer.tell(number, pb.TRIAL_FAILED)
            if trial is not None:
                await self.launcher.stop("" if self.reuse else job_id, trial.run_id)

    async def _end(self, state: pb.StudyState, message: str) -> None:
        study = await self.store.finish_study(self.study.study_id, state, message)
        if self.reuse:
            await self.runners.stop(self.study)
        log.info("study ended", extra={"study": self.name, "state": pb.StudyState.Name(state)})
        if study.run_id:
            await self.launcher.tracking.end_run(study.run_id, RUN_STATUS[state])
