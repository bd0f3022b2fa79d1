"""What the followed events record: a trial's reported values and its job's end.

`ReportStore` is the `events.Recorder` of the tuner's consumers. Any replica
may receive any event, so each write is idempotent (a step is kept once, a
job's end is noted once) and decides nothing: the study's driver reads what
was recorded (`TunerStore.steps_after`, `ended_jobs`) and acts on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from switchyard.core.db import Database
from switchyard.core.outbox import Outbox
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.services.tuner import events
from switchyard.services.tuner.queue_store import QueueStore
from switchyard.services.tuner.store import TunerStore


class ReportStore:
    def __init__(
        self, db: Database, outbox: Outbox, studies: TunerStore, queue: QueueStore
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.studies = studies
        self.queue = queue

    async def trial_of_run(self, run_id: str) -> tuple[str, int, str] | None:
        row = await self.db.pool.fetchrow(
            "SELECT study_id, number FROM trials WHERE run_id = $1 AND state = 'RUNNING'", run_id
        )
        if row is None:
            return None
        spec = await self.studies.spec(row["study_id"])
        return row["study_id"].hex, row["number"], spec.objectives[0].metric

    async def record_steps(self, study_id: str, number: int, steps: Mapping[int, float]) -> bool:
        sid = uuid.UUID(hex=study_id)
        spec = await self.studies.spec(sid)
        async with self.db.pool.acquire() as conn, conn.transaction():
            run_id = await conn.fetchval(
                "SELECT run_id FROM trials WHERE study_id = $1 AND number = $2"
                " AND state = 'RUNNING' FOR UPDATE",
                sid,
                number,
            )
            if run_id is None:
                return False
            new = await conn.fetch(
                "INSERT INTO trial_steps (study_id, number, step, value)"
                " SELECT $1, $2, s, v FROM unnest($3::bigint[], $4::float8[]) AS x(s, v)"
                " ON CONFLICT DO NOTHING RETURNING step, value",
                sid,
                number,
                list(steps),
                list(steps.values()),
            )
            if not new:
                return False
            last = max(new, key=lambda r: r["step"])
            await conn.execute(
                "UPDATE trials SET last_step = $3, last_value = $4"
                " WHERE study_id = $1 AND number = $2 AND last_step < $3",
                sid,
                number,
                last["step"],
                last["value"],
            )
            payloads = [
                ev.TrialReported(
                    study_id=study_id,
                    study_name=spec.name,
                    number=number,
                    run_id=run_id,
                    step=r["step"],
                    value=r["value"],
                )
                for r in sorted(new, key=lambda r: r["step"])
            ]
            await events.trials_reported(self.outbox, conn, payloads)
        return True

    async def record_job_end(
        self, study_id: str, number: int, job_id: str, outcome: str, message: str
    ) -> bool:
        try:
            sid = uuid.UUID(hex=study_id)
        except ValueError:
            return False
        done = await self.db.fetchval(
            "UPDATE trials SET job_outcome = $4, job_message = $5,"
            " job_id = CASE WHEN job_id = '' THEN $3 ELSE job_id END"
            " WHERE study_id = $1 AND number = $2 AND job_outcome IS NULL"
            " AND (job_id = '' OR job_id = $3) RETURNING 1",
            sid,
            number,
            job_id,
            outcome,
            message,
        )
        return bool(done)

    async def record_runner_end(
        self, study_id: str, runner: int, job_id: str, outcome: str, message: str
    ) -> bool:
        try:
            sid = uuid.UUID(hex=study_id)
        except ValueError:
            return False
        return await self.queue.runner_ended(sid, runner, job_id, outcome, message)
