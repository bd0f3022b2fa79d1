"""A job attempt's tracking run, for every rank of it.

Rank 0 makes the attempt's run (the job's run: `Job.run_id`) and records in
it what the job ran (`provenance`). Every other rank of a gang makes a child
run nested under it (`mlflow.parentRunId`, tag `switchyard.rank`), so its
`sy.log_metric` calls land beside rank 0's rather than in a stray run, and
its log is kept in its own run's `logs/`. A rank finds rank 0's run by its
tags; rank 0 makes it before its process starts, and the rendezvous waits
for every rank, so the wait is short.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path

from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk.async_client import AsyncClient, experiment_id_for
from switchyard.services.trainer_worker import provenance
from switchyard.services.trainer_worker.provenance import Provenance

log = logging.getLogger(__name__)
PARENT_WAIT_S = 60.0


class JobRun:
    """The run of one rank of one attempt ('' run_id: the job names no experiment)."""

    def __init__(
        self, tracking: AsyncClient, spec: pb.JobSpec, job_id: str, attempt: int, rank: int
    ) -> None:
        self.tracking = tracking
        self.spec = spec
        self.job_id = job_id
        self.attempt = attempt
        self.rank = rank
        self.run_id = ""
        self.code_version = ""

    async def open(self, env: Mapping[str, str], cwd: Path) -> str:
        """Make the run; '' when the job names no experiment or tracking failed."""
        if not self.spec.experiment:
            return ""
        try:
            exp_id = await experiment_id_for(self.tracking, self.spec.experiment)
            if self.rank == 0:
                self.run_id = await self._open_job_run(exp_id, env, cwd)
            else:
                self.run_id = await self._open_rank_run(exp_id)
        except Exception:
            log.exception("could not create the tracking run", extra={"job_id": self.job_id})
        return self.run_id

    def _tags(self) -> dict[str, str]:
        return {
            "switchyard.job_id": self.job_id,
            "switchyard.attempt": str(self.attempt),
            "switchyard.rank": str(self.rank),
        }

    async def _open_job_run(self, exp_id: str, env: Mapping[str, str], cwd: Path) -> str:
        made: Provenance = await provenance.record(self.spec, env, cwd)
        self.code_version = made.code_version
        run = await self.tracking.create_run(
            exp_id,
            run_name=f"{self.spec.name}-attempt-{self.attempt}",
            tags={**made.tags, **self._tags()},
        )
        run_id = run.info.run_id
        await asyncio.gather(
            *(
                self.tracking.log_text(run_id, content.decode("utf-8", "replace"), path)
                for path, content in made.files.items()
            )
        )
        return run_id

    async def _open_rank_run(self, exp_id: str) -> str:
        parent = await self._rank0_run(exp_id)
        run = await self.tracking.create_run(
            exp_id,
            run_name=f"{self.spec.name}-attempt-{self.attempt}-rank-{self.rank}",
            tags=self._tags(),
            parent_run_id=parent or None,
        )
        return run.info.run_id

    async def _rank0_run(self, exp_id: str) -> str:
        """Rank 0's run of this attempt, waited for; '' if it never appears."""
        query = (
            f"tags.`switchyard.job_id` = '{self.job_id}'"
            f" AND tags.`switchyard.attempt` = '{self.attempt}'"
            " AND tags.`switchyard.rank` = '0'"
        )
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + PARENT_WAIT_S, 0.05
        while True:
            found = await self.tracking.search_runs(exp_id, query, max_results=1)
            if found:
                return found[0].info.run_id
            if loop.time() > deadline:
                log.warning("rank 0's run never appeared", extra={"job_id": self.job_id})
                return ""
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def refusal(self, cwd: Path) -> str:
        """Why this attempt must not run here ('' if it may): a rerun's code differs."""
        if not self.spec.code_version:
            return ""
        if not self.code_version:  # no run recorded it (no experiment, or rank > 0)
            self.code_version, _ = await provenance.code_version(self.spec, cwd)
        return provenance.mismatch(self.spec.code_version, self.code_version, self.spec.rerun_of)

    async def close(self, log_path: Path, status: str) -> None:
        if not self.run_id:
            return
        await self.tracking.log_artifact(self.run_id, log_path, "logs")
        await self.tracking.set_terminated(self.run_id, status)
