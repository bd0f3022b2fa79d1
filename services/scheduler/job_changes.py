"""Changes to locked job rows in one transaction, written together.

A worker's batch of reports changes several jobs. Instead of an UPDATE and
an event insert per change, `JobChanges` keeps each row's new image and the
events in order, and `flush` writes them all in one statement: one round
trip, however many jobs. A job that becomes final inside a pipeline is
flushed first, then the pipeline's hook runs, so events keep their order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg

from switchyard.core.events import Event
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.scheduler import events
from switchyard.services.scheduler.store import FINAL, SchedulerStore, to_job

Row = Mapping[str, Any]

# The columns a report may change, with their array types for unnest().
_MUTABLE = {
    "state": "text",
    "attempt": "int",
    "retries": "int",
    "worker_losses": "int",
    "exit_code": "int",
    "message": "text",
    "worker_id": "text",
    "run_id": "text",
    "cancel_requested": "bool",
    "master_addr": "text",
    "started_ranks": "text",  # an array literal: unnest() would flatten int[][]
    "finished_ranks": "int",
    "started_ms": "bigint",
    "finished_ms": "bigint",
    "outputs": "text",  # JSON
}
_CAST = {"started_ranks": "::int[]", "outputs": "::jsonb"}
_APPLY = (
    "UPDATE jobs SET "
    + ", ".join(f"{c} = u.{c}{_CAST.get(c, '')}" for c in _MUTABLE)
    + " FROM unnest($1::uuid[], "
    + ", ".join(f"${i + 2}::{t}[]" for i, t in enumerate(_MUTABLE.values()))
    + ") AS u (job_id, "
    + ", ".join(_MUTABLE)
    + ") WHERE jobs.job_id = u.job_id"
)


class JobChanges:
    def __init__(self, conn: asyncpg.Connection, jobs: SchedulerStore) -> None:
        self.conn = conn
        self.jobs = jobs
        self._rows: dict[uuid.UUID, dict[str, Any]] = {}
        self._events: list[Event] = []

    def current(self, row: Row) -> Row:
        """The row as this batch has left it so far."""
        return self._rows.get(row["job_id"], row)

    async def set(self, row: Row, **cols: Any) -> pb.Job:
        """Change columns of a locked row (as `SchedulerStore.update_job`, deferred)."""
        unknown = set(cols) - set(_MUTABLE)
        if unknown:
            raise ValueError(f"not a column a report changes: {sorted(unknown)}")
        new = {**self.current(row), **cols}
        self._rows[row["job_id"]] = new
        job = to_job(new)
        if "state" not in cols:
            return job
        self._events.extend(events.job_events(self.jobs.outbox, [job], [None]))
        hook = self.jobs.on_pipeline_job_final
        if cols["state"] in FINAL and job.pipeline_id and hook is not None:
            await self.flush()
            await hook(self.conn, job)
        return job

    async def flush(self) -> None:
        """Every changed row and the events so far, in one statement."""
        if not self._rows and not self._events:
            return
        along = (_APPLY, self._columns()) if self._rows else None
        await self.jobs.outbox.add_events(self.conn, self._events, along=along)
        self._rows.clear()
        self._events = []

    def _columns(self) -> list[list[Any]]:
        rows = list(self._rows.values())
        columns: list[list[Any]] = [[r["job_id"] for r in rows]]
        for name in _MUTABLE:
            values = [r[name] for r in rows]
            if name == "started_ranks":
                values = ["{" + ",".join(map(str, v)) + "}" for v in values]
            elif name == "outputs":
                values = [v if isinstance(v, str) else json.dumps(v) for v in values]
            columns.append(values)
        return columns
