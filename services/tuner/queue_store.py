"""The SQL of reused trial processes: the queue of asked trials, and the runners.

A study with `reuse_processes` has its trials asked ahead by its driver and
stored as queued (RUNNING, `runner = -1`, with their run); its runner jobs
claim them with `FOR UPDATE SKIP LOCKED`, so any replica answers a runner
and no trial is claimed twice. Every write is idempotent: a runner asking
again without ending its trial gets the same trial back, an end is noted
once, and the driver (which alone tells the optimizer) finishes the trial
from what was noted, as it does for a trial's job.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from switchyard.core import event_types as et
from switchyard.core.db import Database
from switchyard.core.ids import now_ms
from switchyard.core.outbox import Outbox
from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.services.tuner import events, records
from switchyard.services.tuner.records import TRIAL_COLUMNS
from switchyard.services.tuner.space import Value
from switchyard.services.tuner.store import TunerStore

QUEUED = -1
LOST = "its runner was lost"


@dataclass(frozen=True)
class Runners:
    """A study's runner jobs as its driver sees them."""

    live: list[tuple[int, str]]  # (runner, job id) of those not ended
    lost: int  # ended other than by finishing their work
    next: int  # the index the next runner gets


class QueueStore:
    def __init__(self, db: Database, outbox: Outbox, studies: TunerStore) -> None:
        self.db = db
        self.outbox = outbox
        self.studies = studies

    # -- the driver's -------------------------------------------------------------

    async def queue(self, study_id: uuid.UUID, number: int, params: Mapping[str, Value]) -> None:
        """Store an asked trial as queued (it gets its run next, then is claimable)."""
        await self.db.pool.execute(
            "INSERT INTO trials (study_id, number, state, params, started_ms, runner)"
            " VALUES ($1, $2, 'RUNNING', $3::jsonb, $4, $5) ON CONFLICT DO NOTHING",
            study_id,
            number,
            json.dumps(dict(params)),
            now_ms(),
            QUEUED,
        )

    async def queued(self, study_id: uuid.UUID) -> int:
        return int(
            await self.db.pool.fetchval(
                "SELECT count(*) FROM trials WHERE study_id = $1 AND runner = $2"
                " AND state = 'RUNNING'",
                study_id,
                QUEUED,
            )
        )

    async def without_run(self, study_id: uuid.UUID) -> list[tuple[int, dict[str, Value]]]:
        """Queued trials whose run was never recorded (a driver died in between)."""
        rows = await self.db.pool.fetch(
            "SELECT number, params FROM trials WHERE study_id = $1 AND runner = $2"
            " AND state = 'RUNNING' AND run_id = ''",
            study_id,
            QUEUED,
        )
        return [(r["number"], records.params(r)) for r in rows]

    async def runners(self, study_id: uuid.UUID) -> Runners:
        rows = await self.db.pool.fetch(
            "SELECT runner, job_id, outcome FROM runners WHERE study_id = $1 ORDER BY runner",
            study_id,
        )
        return Runners(
            live=[(r["runner"], r["job_id"]) for r in rows if r["outcome"] is None],
            lost=sum(1 for r in rows if r["outcome"] not in (None, "succeeded")),
            next=max((r["runner"] for r in rows), default=-1) + 1,
        )

    async def add_runner(self, study_id: uuid.UUID, runner: int) -> None:
        await self.db.pool.execute(
            "INSERT INTO runners (study_id, runner) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            study_id,
            runner,
        )

    async def set_runner_job(self, study_id: uuid.UUID, runner: int, job_id: str) -> None:
        await self.db.pool.execute(
            "UPDATE runners SET job_id = $3 WHERE study_id = $1 AND runner = $2 AND job_id = ''",
            study_id,
            runner,
            job_id,
        )

    # -- the runners' (any replica) -------------------------------------------------

    async def end_trial(self, study_id: uuid.UUID, runner: int, result: pb.TrialResult) -> bool:
        """Note how the runner's trial ended; the driver finishes it."""
        outcome = {pb.TRIAL_COMPLETED: "succeeded", pb.TRIAL_PRUNED: "pruned"}.get(
            result.state, "failed"
        )
        return bool(
            await self.db.pool.fetchval(
                "UPDATE trials SET job_outcome = $4, job_message = $5, reported_values = $6"
                " WHERE study_id = $1 AND number = $2 AND runner = $3 AND state = 'RUNNING'"
                " AND job_outcome IS NULL RETURNING 1",
                study_id,
                result.number,
                runner,
                outcome,
                result.message,
                list(result.values),
            )
        )

    async def claim(self, study_id: uuid.UUID, runner: int) -> pb.Trial | None:
        """The trial this runner holds, else the first queued one, now its; None: none queued."""
        spec = await self.studies.spec(study_id)
        async with self.db.pool.acquire() as conn, conn.transaction():
            job_id = await conn.fetchval(
                "SELECT job_id FROM runners WHERE study_id = $1 AND runner = $2",
                study_id,
                runner,
            )
            held = await conn.fetchrow(
                f"SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = $1 AND runner = $2"
                " AND state = 'RUNNING' AND job_outcome IS NULL ORDER BY number LIMIT 1",
                study_id,
                runner,
            )
            if held is not None:  # asked again (a retry, or the job's next attempt)
                return records.trial(held)
            row = await conn.fetchrow(
                f"UPDATE trials SET runner = $2, job_id = $3, started_ms = $4"
                " WHERE (study_id, number) = (SELECT study_id, number FROM trials"
                "  WHERE study_id = $1 AND runner = -1 AND state = 'RUNNING' AND run_id <> ''"
                "  ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED)"
                f" RETURNING {TRIAL_COLUMNS}",
                study_id,
                runner,
                job_id or "",
                now_ms(),
            )
            if row is None:
                return None
            trial = records.trial(row)
            await events.trial_changed(self.outbox, conn, et.TRIAL_STARTED, spec.name, trial)
        return trial

    async def no_more(self, study_id: uuid.UUID) -> bool:
        """True once a runner has nothing left to do: the study ended or all trials ran."""
        spec = await self.studies.spec(study_id)
        row = await self.db.pool.fetchrow(
            "SELECT s.state, (SELECT count(*) FROM trials t WHERE t.study_id = s.study_id) AS n,"
            " (SELECT count(*) FROM trials t WHERE t.study_id = s.study_id AND t.runner = -1"
            "  AND t.state = 'RUNNING') AS queued FROM studies s WHERE s.study_id = $1",
            study_id,
        )
        if row is None or row["state"] != "RUNNING":
            return True
        return bool(row["n"] >= spec.max_trials and row["queued"] == 0)

    async def trial_state(self, study_id: uuid.UUID, number: int) -> tuple[pb.TrialState, str]:
        row = await self.db.pool.fetchrow(
            "SELECT state, message FROM trials WHERE study_id = $1 AND number = $2",
            study_id,
            number,
        )
        if row is None:
            return pb.TRIAL_STATE_UNSPECIFIED, "no such trial"
        return records.TRIAL_STATES[row["state"]], row["message"]

    async def trial_run_id(self, study_id: uuid.UUID, number: int) -> str:
        return str(
            await self.db.pool.fetchval(
                "SELECT run_id FROM trials WHERE study_id = $1 AND number = $2", study_id, number
            )
            or ""
        )

    # -- the followed events' -------------------------------------------------------

    async def runner_ended(
        self, study_id: uuid.UUID, runner: int, job_id: str, outcome: str, message: str
    ) -> bool:
        """Note a runner job's end; the trial it held ends FAILED (never lost)."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            ended = await conn.fetchval(
                "UPDATE runners SET outcome = $3, message = $4,"
                " job_id = CASE WHEN job_id = '' THEN $5 ELSE job_id END"
                " WHERE study_id = $1 AND runner = $2 AND outcome IS NULL RETURNING 1",
                study_id,
                runner,
                outcome,
                message,
                job_id,
            )
            held = await _fail_held(conn, study_id, runner, f"{LOST}: {message or outcome}")
        return bool(ended or held)


async def _fail_held(
    conn: asyncpg.Connection, study_id: uuid.UUID, runner: int, message: str
) -> Sequence[int]:
    rows = await conn.fetch(
        "UPDATE trials SET job_outcome = 'failed', job_message = $3"
        " WHERE study_id = $1 AND runner = $2 AND state = 'RUNNING' AND job_outcome IS NULL"
        " RETURNING number",
        study_id,
        runner,
        message,
    )
    return [r["number"] for r in rows]
