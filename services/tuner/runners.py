"""Reused trial processes, the driver's side: the queue kept full, runner jobs kept up.

With `reuse_processes` a study's driver asks trials ahead (up to `parallel`
queued beyond those running) so a runner that ends a trial claims the next
at once, and keeps up to `parallel` runner jobs alive while trials remain:
one that ends (its worker lost for good, or the job failed) is replaced.
Runner jobs are named per study and index and recorded before they are
submitted, so a driver killed in between finds the job by name instead of
submitting a second one (as trials.py does for trial jobs).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping

from switchyard.errors import SwitchyardError
from switchyard.proto.v1 import scheduler_pb2 as spb
from switchyard.services.tuner.events import RUNNER_ENV
from switchyard.services.tuner.optimizer import Optimizer
from switchyard.services.tuner.queue_store import QueueStore
from switchyard.services.tuner.space import Value
from switchyard.services.tuner.trials import Launcher, StudyContext, trial_name

log = logging.getLogger(__name__)
REUSE_FLAG = "--reuse"


def runner_name(study_name: str, runner: int) -> str:
    return f"{study_name}-runner-{runner}"


def runner_spec(template: spb.JobSpec, *, name: str, study_id: str, runner: int) -> spb.JobSpec:
    """The trial template run as a runner: no parameters, no run; it asks for trials."""
    spec = spb.JobSpec()
    spec.CopyFrom(template)
    spec.name = name
    spec.experiment = ""
    spec.command.append(REUSE_FLAG)
    spec.env[RUNNER_ENV] = f"{study_id}:{runner}"
    return spec


class RunnerPool:
    def __init__(self, queue: QueueStore, launcher: Launcher, notify: Callable[[], None]) -> None:
        self.queue = queue
        self.launcher = launcher
        self.notify = notify  # trials were queued: wake runners waiting in NextTrial

    async def resume(self, study: StudyContext) -> None:
        """After a restart: queued trials get their run, recorded runners their job."""
        sid = study.study_id
        for number, params in await self.queue.without_run(sid):
            await self._give_run(study, number, params)
        for runner, job_id in (await self.queue.runners(sid)).live:
            if not job_id:
                await self._submit(study, runner, may_exist=True)

    async def top_up(self, study: StudyContext, optimizer: Optimizer, started: int) -> int:
        """Queue trials up to `parallel` waiting ones; how many trials exist now."""
        sid, spec = study.study_id, study.spec
        queued = await self.queue.queued(sid)
        added = 0
        while queued < spec.parallel and started < spec.max_trials:
            number, params = optimizer.ask()
            await self.queue.queue(sid, number, params)
            await self._give_run(study, number, params)
            queued, started, added = queued + 1, started + 1, added + 1
        if added:
            self.notify()
        return started

    async def keep_up(self, study: StudyContext, running: int) -> int:
        """Runner jobs up to min(parallel, trials running or queued); runners lost so far."""
        sid = study.study_id
        runners = await self.queue.runners(sid)
        want = min(study.spec.parallel, running)
        for runner in range(runners.next, runners.next + max(0, want - len(runners.live))):
            await self.queue.add_runner(sid, runner)
            await self._submit(study, runner, may_exist=False)
        return runners.lost

    async def stop(self, study: StudyContext) -> None:
        """Cancel the study's runner jobs (it ended); their end events close their rows."""
        for _, job_id in (await self.queue.runners(study.study_id)).live:
            if job_id:
                with contextlib.suppress(SwitchyardError):
                    await self.launcher.scheduler.cancel(job_id)

    async def _give_run(
        self, study: StudyContext, number: int, params: Mapping[str, Value]
    ) -> None:
        run_id = await self.launcher.tracking.trial_run(
            study.experiment_id,
            study.run_id,
            study.study_id.hex,
            trial_name(study.spec.name, number),
            params,
        )
        await self.launcher.store.set_trial_run(study.study_id, number, run_id)

    async def _submit(self, study: StudyContext, runner: int, *, may_exist: bool) -> None:
        name = runner_name(study.spec.name, runner)
        job_id = await self.launcher.scheduler.find(name) if may_exist else None
        if job_id is None:
            spec = runner_spec(
                study.spec.trial, name=name, study_id=study.study_id.hex, runner=runner
            )
            job_id = await self.launcher.scheduler.submit(spec)
        await self.queue.set_runner_job(study.study_id, runner, job_id)
        log.info("runner started", extra={"study": study.spec.name, "runner": runner})
