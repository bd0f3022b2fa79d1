"""All SQL of the tuner: studies, trials and their reported values.

Each write is one transaction that also writes its event to the outbox.
Writes that events or a restarted driver may repeat are idempotent: a
trial finishes only from RUNNING, a step is kept once, a job's end is noted
once. Reads return protobuf entities or the optimizer's `TrialRecord`s.
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
from switchyard.errors import AlreadyExists, NotFound
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.services.tuner import events, records
from switchyard.services.tuner.optimizer import TrialRecord
from switchyard.services.tuner.records import STUDY_COLUMNS, TRIAL_COLUMNS, TRIAL_NAMES
from switchyard.services.tuner.space import Value

FINISHED_EVENTS = {
    pb.TRIAL_COMPLETED: et.TRIAL_COMPLETED,
    pb.TRIAL_PRUNED: et.TRIAL_PRUNED,
    pb.TRIAL_FAILED: et.TRIAL_FAILED,
}
STUDY_EVENTS = {
    pb.STUDY_COMPLETED: et.STUDY_COMPLETED,
    pb.STUDY_FAILED: et.STUDY_FAILED,
    pb.STUDY_STOPPED: et.STUDY_STOPPED,
}


@dataclass(frozen=True)
class StudyRow:
    study_id: str
    spec: pb.StudySpec
    state: pb.StudyState
    run_id: str
    experiment_id: str
    created_ms: int


@dataclass(frozen=True)
class EndedJob:
    number: int
    run_id: str
    outcome: str  # succeeded | failed | cancelled | pruned (a reused process's)
    message: str
    values: tuple[float, ...] = ()  # as a reused process reported them


class TunerStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox
        self._specs: dict[str, pb.StudySpec] = {}  # specs never change

    # -- studies ----------------------------------------------------------------

    async def name_taken(self, name: str) -> bool:
        return bool(await self.db.fetchval("SELECT 1 FROM studies WHERE name = $1", name))

    async def create_study(
        self, study_id: uuid.UUID, spec: pb.StudySpec, run_id: str, experiment_id: str
    ) -> pb.Study:
        async with self.db.pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(
                    "INSERT INTO studies (study_id, name, spec, state, run_id, experiment_id,"
                    " created_ms) VALUES ($1, $2, $3, 'RUNNING', $4, $5, $6)",
                    study_id,
                    spec.name,
                    spec.SerializeToString(),
                    run_id,
                    experiment_id,
                    now_ms(),
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists(
                    f"study '{spec.name}' already exists", entity="study", field="spec.name"
                ) from None
            study = await self._study(conn, study_id)
            await events.study_changed(self.outbox, conn, et.STUDY_CREATED, study)
        return study

    async def get_study(self, study_id: uuid.UUID | None, name: str = "") -> pb.Study:
        async with self.db.pool.acquire() as conn:
            if study_id is None:
                study_id = await conn.fetchval("SELECT study_id FROM studies WHERE name = $1", name)
                if study_id is None:
                    raise NotFound(f"study '{name}' not found", entity="study", field="name")
            return await self._study(conn, study_id)

    async def list_studies(self, states: Sequence[str], limit: int) -> list[pb.Study]:
        async with self.db.pool.acquire() as conn:
            ids = await conn.fetch(
                "SELECT study_id FROM studies WHERE cardinality($1::text[]) = 0"
                " OR state = ANY($1) ORDER BY seq DESC LIMIT $2",
                list(states),
                limit,
            )
            return [await self._study(conn, r["study_id"]) for r in ids]

    async def _study(self, conn: asyncpg.Connection, study_id: uuid.UUID) -> pb.Study:
        row = await conn.fetchrow(
            f"SELECT {STUDY_COLUMNS} FROM studies WHERE study_id = $1", study_id
        )
        if row is None:
            raise NotFound(f"study '{study_id.hex}' not found", entity="study", field="study_id")
        counts = {
            r["state"]: r["n"]
            for r in await conn.fetch(
                "SELECT state, count(*) AS n FROM trials WHERE study_id = $1 GROUP BY state",
                study_id,
            )
        }
        best = None
        if row["best_number"] is not None:
            best_row = await conn.fetchrow(
                f"SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = $1 AND number = $2",
                study_id,
                row["best_number"],
            )
            best = records.trial(best_row) if best_row is not None else None
        study = records.study(row, counts, best)
        if len(study.spec.objectives) > 1:
            completed = await self._trials(conn, study_id, ["COMPLETED"])
            maximize = [o.maximize for o in study.spec.objectives]
            study.pareto_front.extend(records.pareto_front(completed, maximize))
        return study

    async def stop_study(self, study_id: uuid.UUID) -> pb.Study:
        """STOPPED, if still running; its driver then stops the running trials."""
        return await self.finish_study(study_id, pb.STUDY_STOPPED, "stopped by request")

    async def finish_study(
        self, study_id: uuid.UUID, state: pb.StudyState, message: str
    ) -> pb.Study:
        async with self.db.pool.acquire() as conn, conn.transaction():
            changed = await conn.fetchval(
                "UPDATE studies SET state = $2, message = $3, finished_ms = $4"
                " WHERE study_id = $1 AND state = 'RUNNING' RETURNING 1",
                study_id,
                records.STUDY_NAMES[state],
                message,
                now_ms(),
            )
            study = await self._study(conn, study_id)
            if changed:
                await events.study_changed(self.outbox, conn, STUDY_EVENTS[state], study)
        return study

    # -- trials -----------------------------------------------------------------

    async def list_trials(self, study_id: uuid.UUID, states: Sequence[str]) -> list[pb.Trial]:
        async with self.db.pool.acquire() as conn:
            if not await conn.fetchval("SELECT 1 FROM studies WHERE study_id = $1", study_id):
                raise NotFound(
                    f"study '{study_id.hex}' not found", entity="study", field="study_id"
                )
            return await self._trials(conn, study_id, states)

    async def _trials(
        self, conn: asyncpg.Connection, study_id: uuid.UUID, states: Sequence[str]
    ) -> list[pb.Trial]:
        rows = await conn.fetch(
            f"SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = $1"
            " AND (cardinality($2::text[]) = 0 OR state = ANY($2)) ORDER BY number",
            study_id,
            list(states),
        )
        return [records.trial(r) for r in rows]

    # -- the driver's --------------------------------------------------------------

    async def count_running(self) -> tuple[int, int]:
        """Studies and trials RUNNING, for the gauges (both through partial indexes)."""
        row = await self.db.pool.fetchrow(
            "SELECT (SELECT count(*) FROM studies WHERE state = 'RUNNING') AS studies,"
            " (SELECT count(*) FROM trials WHERE state = 'RUNNING') AS trials"
        )
        assert row is not None
        return row["studies"], row["trials"]

    async def studies_to_drive(self) -> list[uuid.UUID]:
        """Running studies, and ended ones whose trials still run (to stop them)."""
        rows = await self.db.pool.fetch(
            "SELECT study_id FROM studies WHERE state = 'RUNNING'"
            " UNION SELECT DISTINCT study_id FROM trials WHERE state = 'RUNNING'"
        )
        return [r["study_id"] for r in rows]

    async def study_row(self, study_id: uuid.UUID) -> StudyRow:
        row = await self.db.pool.fetchrow(
            "SELECT spec, state, run_id, experiment_id, created_ms FROM studies"
            " WHERE study_id = $1",
            study_id,
        )
        if row is None:
            raise NotFound(f"study '{study_id.hex}' not found", entity="study")
        return StudyRow(
            study_id.hex,
            pb.StudySpec.FromString(row["spec"]),
            records.STUDY_STATES[row["state"]],
            row["run_id"],
            row["experiment_id"],
            row["created_ms"],
        )

    async def trial_records(self, study_id: uuid.UUID) -> tuple[list[TrialRecord], int]:
        """Every trial as the optimizer is rebuilt from, and the last step's seq."""
        async with self.db.pool.acquire() as conn:
            rows = await conn.fetch(
                'SELECT number, state, params, "values", system_attrs FROM trials'
                " WHERE study_id = $1 ORDER BY number",
                study_id,
            )
            steps = await conn.fetch(
                "SELECT number, step, value, seq FROM trial_steps WHERE study_id = $1", study_id
            )
        by_trial: dict[int, dict[int, float]] = {}
        for s in steps:
            by_trial.setdefault(s["number"], {})[s["step"]] = s["value"]
        last_seq = max((s["seq"] for s in steps), default=0)
        return [records.trial_record(r, by_trial.get(r["number"], {})) for r in rows], last_seq

    async def trials_without_job(
        self, study_id: uuid.UUID
    ) -> list[tuple[int, dict[str, Value], str]]:
        """Running trials whose job was never recorded: (number, params, run id)."""
        rows = await self.db.pool.fetch(
            "SELECT number, params, run_id FROM trials"
            " WHERE study_id = $1 AND state = 'RUNNING' AND job_id = ''",
            study_id,
        )
        return [(r["number"], records.params(r), r["run_id"]) for r in rows]

    async def add_trial(
        self, study_id: uuid.UUID, number: int, params: Mapping[str, Value]
    ) -> pb.Trial:
        spec = await self.spec(study_id)
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "INSERT INTO trials (study_id, number, state, params, started_ms)"
                f" VALUES ($1, $2, 'RUNNING', $3::jsonb, $4) RETURNING {TRIAL_COLUMNS}",
                study_id,
                number,
                json.dumps(dict(params)),
                now_ms(),
            )
            trial = records.trial(row)
            await events.trial_changed(self.outbox, conn, et.TRIAL_STARTED, spec.name, trial)
        return trial

    async def set_trial_run(self, study_id: uuid.UUID, number: int, run_id: str) -> None:
        await self.db.pool.execute(
            "UPDATE trials SET run_id = $3 WHERE study_id = $1 AND number = $2",
            study_id,
            number,
            run_id,
        )

    async def set_trial_job(self, study_id: uuid.UUID, number: int, job_id: str) -> None:
        await self.db.pool.execute(
            "UPDATE trials SET job_id = $3 WHERE study_id = $1 AND number = $2 AND job_id = ''",
            study_id,
            number,
            job_id,
        )

    async def steps_after(self, study_id: uuid.UUID, seq: int) -> list[tuple[int, int, int, float]]:
        """(seq, trial number, step, value) reported after `seq`, in order."""
        rows = await self.db.pool.fetch(
            "SELECT seq, number, step, value FROM trial_steps WHERE study_id = $1 AND seq > $2"
            " ORDER BY seq",
            study_id,
            seq,
        )
        return [(r["seq"], r["number"], r["step"], r["value"]) for r in rows]

    async def ended_jobs(self, study_id: uuid.UUID) -> list[EndedJob]:
        rows = await self.db.pool.fetch(
            "SELECT number, run_id, job_outcome, job_message, reported_values FROM trials"
            " WHERE study_id = $1 AND state = 'RUNNING' AND job_outcome IS NOT NULL"
            " ORDER BY number",
            study_id,
        )
        return [
            EndedJob(
                r["number"],
                r["run_id"],
                r["job_outcome"],
                r["job_message"],
                tuple(r["reported_values"]),
            )
            for r in rows
        ]

    async def running_jobs(self, study_id: uuid.UUID) -> list[tuple[int, str]]:
        rows = await self.db.pool.fetch(
            "SELECT number, job_id FROM trials WHERE study_id = $1 AND state = 'RUNNING'",
            study_id,
        )
        return [(r["number"], r["job_id"]) for r in rows]

    async def counts(self, study_id: uuid.UUID) -> dict[str, int]:
        rows = await self.db.pool.fetch(
            "SELECT state, count(*) AS n FROM trials WHERE study_id = $1 GROUP BY state", study_id
        )
        return {r["state"]: r["n"] for r in rows}

    async def save_system_attrs(
        self, study_id: uuid.UUID, number: int, attrs: Mapping[str, object]
    ) -> None:
        await self.db.pool.execute(
            "UPDATE trials SET system_attrs = $3::jsonb WHERE study_id = $1 AND number = $2",
            study_id,
            number,
            json.dumps(dict(attrs), default=str),
        )

    async def finish_trial(
        self,
        study_id: uuid.UUID,
        number: int,
        state: pb.TrialState,
        values: Sequence[float] = (),
        message: str = "",
    ) -> pb.Trial | None:
        """End a running trial (None if it had ended); a better value moves the best."""
        spec = await self.spec(study_id)
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                'UPDATE trials SET state = $3, "values" = $4, message = $5, finished_ms = $6'
                " WHERE study_id = $1 AND number = $2 AND state = 'RUNNING'"
                f" RETURNING {TRIAL_COLUMNS}",
                study_id,
                number,
                TRIAL_NAMES[state],
                list(values),
                message,
                now_ms(),
            )
            if row is None:
                return None
            trial = records.trial(row)
            await events.trial_changed(self.outbox, conn, FINISHED_EVENTS[state], spec.name, trial)
            if state == pb.TRIAL_COMPLETED and len(spec.objectives) == 1:
                await self._maybe_best(conn, spec, trial)
        return trial

    async def _maybe_best(
        self, conn: asyncpg.Connection, spec: pb.StudySpec, trial: pb.Trial
    ) -> None:
        study_id = uuid.UUID(hex=trial.study_id)
        best = await conn.fetchval(
            "SELECT best_value FROM studies WHERE study_id = $1 FOR UPDATE", study_id
        )
        value = trial.values[0]
        better = best is None or (value > best if spec.objectives[0].maximize else value < best)
        if not better:
            return
        await conn.execute(
            "UPDATE studies SET best_number = $2, best_value = $3 WHERE study_id = $1",
            study_id,
            trial.number,
            value,
        )
        payload = ev.BestImproved(
            study_id=trial.study_id,
            study_name=spec.name,
            number=trial.number,
            value=value,
            params=trial.params,
            run_id=trial.run_id,
            had_previous=best is not None,
            previous_value=best or 0.0,
        )
        await events.best_improved(self.outbox, conn, payload)

    async def spec(self, study_id: uuid.UUID) -> pb.StudySpec:
        key = study_id.hex
        spec = self._specs.get(key)
        if spec is None:
            raw = await self.db.fetchval("SELECT spec FROM studies WHERE study_id = $1", study_id)
            if raw is None:
                raise NotFound(f"study '{key}' not found", entity="study")
            spec = self._specs[key] = pb.StudySpec.FromString(raw)
        return spec
