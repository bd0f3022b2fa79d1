"""SQL for pipelines: their rows, their step runs, and advancing the DAG.

`advance` runs in the transaction that made one of the pipeline's jobs
final (and in the ones that start or cancel the pipeline): it records the
step run's outcome, then submits every step whose dependencies all
succeeded (taking outputs from the cache where a step allows it). After a
failure or a cancel it starts nothing and marks the steps not started
SKIPPED; the pipeline ends (`pipelines.progress`) only when every step run
it started has ended.

Locks go job rows first, then the pipeline row, as a worker's report takes
them (a job's row, then the hook's `advance`), so a cancel never deadlocks
with a report.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from switchyard.core import event_types as et
from switchyard.core import paging
from switchyard.core.db import Database
from switchyard.core.ids import now_ms, uuid7
from switchyard.core.outbox import Outbox
from switchyard.core.sql_params import SqlParams
from switchyard.errors import NotFound
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.scheduler import pipelines
from switchyard.services.scheduler.job_changes import FINAL, JobChanges
from switchyard.services.scheduler.store import SchedulerStore

_STATE = {name.removeprefix("PIPELINE_"): value for name, value in pb.PipelineState.items()}
_EVENT = {
    "RUNNING": et.PIPELINE_STARTED,
    "SUCCEEDED": et.PIPELINE_SUCCEEDED,
    "FAILED": et.PIPELINE_FAILED,
    "CANCELLED": et.PIPELINE_CANCELLED,
}
_NEWEST = (paging.SortKey("pipeline_id", "uuid", ascending=False),)  # uuid7: time-ordered
_TOKENS = paging.TokenRules(max_chars=256, changed="state filter")


class PipelineStore:
    def __init__(self, db: Database, outbox: Outbox, jobs: SchedulerStore) -> None:
        self.db = db
        self.outbox = outbox
        self.jobs = jobs
        jobs.on_pipeline_job_final = self.job_final

    async def run(self, spec: pb.PipelineSpec) -> pb.Pipeline:
        pipeline_id = uuid7()
        async with self.db.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO pipelines (pipeline_id, spec, state, created_ms)"
                " VALUES ($1, $2, 'RUNNING', $3)",
                pipeline_id,
                spec.SerializeToString(),
                now_ms(),
            )
            await self._event(conn, pipeline_id)
            await self.advance(conn, pipeline_id)
            return await self._load(conn, pipeline_id)

    async def get(self, pipeline_id: uuid.UUID) -> pb.Pipeline:
        async with self.db.pool.acquire() as conn:
            return await self._load(conn, pipeline_id)

    async def page(
        self, states: Sequence[str], limit: int, page_token: str
    ) -> tuple[list[pb.Pipeline], str]:
        """A page of pipelines in `states` (all if none), newest first, without
        their steps; and the next page's token ("" on the last)."""
        q = SqlParams()
        wanted = sorted(set(states))
        query = paging.keyset_query(
            columns="*",
            source="pipelines",
            where=[f"state = ANY({q.add(wanted, 'text[]')})"] if wanted else [],
            keys=_NEWEST,
            fingerprint=paging.fingerprint("pipelines", wanted),
            page_token=page_token,
            limit=limit,
            q=q,
            tokens=_TOKENS,
        )
        rows, token = paging.cut(await self.db.pool.fetch(query.sql, *query.args), query, limit)
        return [_summary(r) for r in rows], token

    async def cancel(self, pipeline_id: uuid.UUID) -> pb.Pipeline:
        """Cancel its step jobs as CancelJob does and start nothing more, in one
        transaction; it is CANCELLED once those jobs have ended (at once if none ran)."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            jobs = await self._lock_unended_jobs(conn, pipeline_id)
            state = await conn.fetchval(
                "SELECT state FROM pipelines WHERE pipeline_id = $1 FOR UPDATE", pipeline_id
            )
            if state is None:
                raise NotFound(f"pipeline '{pipeline_id.hex}' does not exist", entity="pipeline")
            if state != "RUNNING":  # ended: as CancelJob answers for an ended job
                return await self._load(conn, pipeline_id)
            await conn.execute(
                "UPDATE pipelines SET cancel_requested = true WHERE pipeline_id = $1", pipeline_id
            )
            # Steps started between the first lock and the pipeline's (rare).
            jobs += await self._lock_unended_jobs(conn, pipeline_id, [r["job_id"] for r in jobs])
            await self.advance(conn, pipeline_id)  # skips what has not started
            changes = JobChanges(conn, self.outbox, self.jobs.on_pipeline_job_final)
            for row in jobs:
                await self.jobs.cancel_locked(conn, changes, row)
            await changes.flush()
            return await self._load(conn, pipeline_id)

    async def _lock_unended_jobs(
        self, conn: asyncpg.Connection, pipeline_id: uuid.UUID, besides: Sequence[uuid.UUID] = ()
    ) -> list[asyncpg.Record]:
        """Lock the pipeline's step jobs that have not ended, in id order."""
        return list(
            await conn.fetch(
                "SELECT j.* FROM jobs j JOIN step_runs s ON s.job_id = j.job_id"
                " WHERE s.pipeline_id = $1 AND j.state <> ALL($2::text[])"
                " AND j.job_id <> ALL($3::uuid[]) ORDER BY j.job_id FOR UPDATE OF j",
                pipeline_id,
                list(FINAL),
                list(besides),
            )
        )

    async def job_final(self, conn: asyncpg.Connection, job: pb.Job) -> None:
        state = pb.JobState.Name(job.state).removeprefix("JOB_")
        await conn.execute(
            "UPDATE step_runs SET state = $2, outputs = $3 WHERE job_id = $1",
            uuid.UUID(hex=job.job_id),
            state,
            json.dumps(dict(job.outputs)),
        )
        await self.advance(conn, uuid.UUID(hex=job.pipeline_id))

    async def advance(self, conn: asyncpg.Connection, pipeline_id: uuid.UUID) -> None:
        row = await conn.fetchrow(
            "SELECT spec, state, cancel_requested FROM pipelines WHERE pipeline_id = $1 FOR UPDATE",
            pipeline_id,
        )
        if row is None or row["state"] != "RUNNING":
            return
        spec = pb.PipelineSpec.FromString(row["spec"])
        names = [s.name for s in spec.steps]
        while True:
            runs = await self._runs(conn, pipeline_id)
            states = {name: [r["state"] for r in rs] for name, rs in runs.items()}
            now = pipelines.progress(names, states, cancelling=row["cancel_requested"])
            await self._skip(conn, pipeline_id, now.skip)
            if now.state != "RUNNING":
                await self._end(conn, pipeline_id, now.state, now.message)
                return
            if now.stopping or not await self._start_ready(conn, pipeline_id, spec, runs):
                return

    async def _start_ready(
        self,
        conn: asyncpg.Connection,
        pipeline_id: uuid.UUID,
        spec: pb.PipelineSpec,
        runs: Mapping[str, list[Mapping[str, Any]]],
    ) -> bool:
        """Start every step whose dependencies succeeded; True if any finished at once."""
        finished_now = False
        outputs = {
            name: [
                {**json.loads(r["outputs"]), **({"__fanout__": "1"} if r["fanned"] else {})}
                for r in rs
            ]
            for name, rs in runs.items()
        }
        keys = {name: [r["digest"] for r in rs] for name, rs in runs.items()}
        for step in spec.steps:
            deps = pipelines.dependencies(step)
            if step.name in runs or not all(
                d in runs and all(r["state"] == "SUCCEEDED" for r in runs[d]) for d in deps
            ):
                continue
            inputs = {k: pipelines.resolve(v, outputs) for k, v in step.inputs.items()}
            members = pipelines.items(pipelines.resolve(step.for_each, outputs))
            upstream = pipelines.upstream_keys(step, keys)
            for idx, item in enumerate(members if members is not None else [None]):
                job = pipelines.render(step.job, inputs, item)
                job.name = step.name if item is None else f"{step.name}-{idx}"
                key = pipelines.digest(job, step.code_digest, upstream)
                hit = None
                if step.cache:
                    hit = await conn.fetchval(
                        "SELECT outputs FROM step_runs WHERE digest = $1 AND state = 'SUCCEEDED'"
                        " LIMIT 1",
                        key,
                    )
                if hit is not None:
                    finished_now = True
                    await self._add_run(
                        conn,
                        pipeline_id,
                        step.name,
                        idx,
                        None,
                        "SUCCEEDED",
                        key,
                        hit,
                        cached=True,
                        fanned=members is not None,
                    )
                    continue
                submitted = await self.jobs.insert_job(conn, job, pipeline_id, step.name)
                await self._add_run(
                    conn,
                    pipeline_id,
                    step.name,
                    idx,
                    uuid.UUID(hex=submitted.job_id),
                    "QUEUED",
                    key,
                    "{}",
                    cached=False,
                    fanned=members is not None,
                )
            if members == []:  # an empty fan-out succeeds with no outputs
                finished_now = True
                await self._add_run(
                    conn,
                    pipeline_id,
                    step.name,
                    0,
                    None,
                    "SUCCEEDED",
                    "",
                    "{}",
                    cached=False,
                    fanned=True,
                )
        return finished_now

    async def _add_run(
        self,
        conn: asyncpg.Connection,
        pipeline_id: uuid.UUID,
        step: str,
        idx: int,
        job_id: uuid.UUID | None,
        state: str,
        key: str,
        outputs: str,
        *,
        cached: bool,
        fanned: bool,
    ) -> None:
        await conn.execute(
            "INSERT INTO step_runs (pipeline_id, step, idx, job_id, state, outputs, cached,"
            " digest, fanned) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            pipeline_id,
            step,
            idx,
            job_id,
            state,
            outputs,
            cached,
            key,
            fanned,
        )

    async def _skip(
        self, conn: asyncpg.Connection, pipeline_id: uuid.UUID, steps: Sequence[str]
    ) -> None:
        """Mark steps that will never start: a SKIPPED run each, so listings show them."""
        if steps:
            await conn.execute(
                "INSERT INTO step_runs (pipeline_id, step, idx, state, digest)"
                " SELECT $1, s, 0, $3, '' FROM unnest($2::text[]) AS s",
                pipeline_id,
                list(steps),
                pipelines.SKIPPED,
            )

    async def _runs(
        self, conn: asyncpg.Connection, pipeline_id: uuid.UUID
    ) -> dict[str, list[asyncpg.Record]]:
        out: dict[str, list[asyncpg.Record]] = {}
        for r in await conn.fetch(
            "SELECT * FROM step_runs WHERE pipeline_id = $1 ORDER BY step, idx", pipeline_id
        ):
            out.setdefault(r["step"], []).append(r)
        return out

    async def _end(
        self, conn: asyncpg.Connection, pipeline_id: uuid.UUID, state: str, message: str
    ) -> None:
        await conn.execute(
            "UPDATE pipelines SET state = $2, message = $3, finished_ms = $4"
            " WHERE pipeline_id = $1",
            pipeline_id,
            state,
            message,
            now_ms(),
        )
        await self._event(conn, pipeline_id)

    async def _event(self, conn: asyncpg.Connection, pipeline_id: uuid.UUID) -> None:
        pipeline = await self._load(conn, pipeline_id)
        kind = _EVENT[pb.PipelineState.Name(pipeline.state).removeprefix("PIPELINE_")]
        await self.outbox.add(
            conn, kind, pipeline.pipeline_id, ev.PipelineChanged(pipeline=pipeline)
        )

    async def _load(self, conn: asyncpg.Connection, pipeline_id: uuid.UUID) -> pb.Pipeline:
        row = await conn.fetchrow("SELECT * FROM pipelines WHERE pipeline_id = $1", pipeline_id)
        if row is None:
            raise NotFound(f"pipeline '{pipeline_id.hex}' does not exist", entity="pipeline")
        runs = await conn.fetch(
            "SELECT s.step, s.idx, s.job_id, s.cached, s.outputs, s.digest,"
            " coalesce(j.state, s.state) AS state"
            " FROM step_runs s LEFT JOIN jobs j ON j.job_id = s.job_id"
            " WHERE s.pipeline_id = $1 ORDER BY s.step, s.idx",
            pipeline_id,
        )
        pipeline = _summary(row)
        pipeline.steps.extend(
            pb.StepRun(
                step=r["step"],
                index=r["idx"],
                job_id=r["job_id"].hex if r["job_id"] else "",
                state=r["state"],
                outputs=json.loads(r["outputs"]),
                cached=r["cached"],
                cache_key=r["digest"] or "",
            )
            for r in runs
        )
        return pipeline


def _summary(row: asyncpg.Record) -> pb.Pipeline:
    return pb.Pipeline(
        pipeline_id=row["pipeline_id"].hex,
        spec=pb.PipelineSpec.FromString(row["spec"]),
        state=_STATE[row["state"]],  # type: ignore[arg-type]
        created_ms=row["created_ms"],
        finished_ms=row["finished_ms"],
        message=row["message"],
        cancel_requested=row["cancel_requested"],
    )
