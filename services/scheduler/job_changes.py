"""Job rows as protos, and changes to locked job rows written together.

A worker's batch of reports changes several jobs. Instead of an UPDATE and
an event insert per change, `JobChanges` keeps each row's new image and the
events in order, and `flush` writes them all in one statement: one round
trip, however many jobs. A job that becomes final inside a pipeline is
flushed first, then the pipeline's hook runs, so events keep their order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg

from switchyard.core.events import Event
from switchyard.core.outbox import Outbox
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.scheduler import events

Row = Mapping[str, Any]
# Runs in the transaction that made a pipeline's job final (pipeline_store.py).
FinalHook = Callable[[asyncpg.Connection, pb.Job], Awaitable[None]]
FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
_STATE = {name.removeprefix("JOB_"): value for name, value in pb.JobState.items()}

# The columns a change may set, with their array types for unnest().
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


def to_job(row: Row) -> pb.Job:
    job = pb.Job(
        job_id=row["job_id"].hex,
        spec=pb.JobSpec.FromString(row["spec"]),
        state=_STATE[row["state"]],  # type: ignore[arg-type]
        attempt=row["attempt"],
        message=row["message"],
        worker_id=row["worker_id"],
        run_id=row["run_id"],
        created_ms=row["created_ms"],
        started_ms=row["started_ms"],
        finished_ms=row["finished_ms"],
        retries=row["retries"],
        worker_losses=row["worker_losses"],
        cancel_requested=row["cancel_requested"],
        outputs=json.loads(row["outputs"]),
        pipeline_id=row["pipeline_id"].hex if row["pipeline_id"] else "",
        step=row["step"],
    )
    if row["exit_code"] is not None:
        job.has_exit_code, job.exit_code = True, row["exit_code"]
    return job


class JobChanges:
    def __init__(
        self, conn: asyncpg.Connection, outbox: Outbox, on_final: FinalHook | None
    ) -> None:
        self.conn = conn
        self.outbox = outbox
        self.on_final = on_final  # the pipeline hook
        self._rows: dict[uuid.UUID, dict[str, Any]] = {}
        self._events: list[Event] = []

    def current(self, row: Row) -> Row:
        """The row as this batch has left it so far."""
        return self._rows.get(row["job_id"], row)

    async def set(self, row: Row, **cols: Any) -> pb.Job:
        """Change columns of a locked row, with the job's event if its state changed;
        written by `flush`."""
        unknown = set(cols) - set(_MUTABLE)
        if unknown:
            raise ValueError(f"not a column a change sets: {sorted(unknown)}")
        new = {**self.current(row), **cols}
        self._rows[row["job_id"]] = new
        job = to_job(new)
        if "state" not in cols:
            return job
        self._events.extend(events.job_events(self.outbox, [job], [None]))
        if cols["state"] in FINAL and job.pipeline_id and self.on_final is not None:
            await self.flush()
            await self.on_final(self.conn, job)
        return job

    async def flush(self) -> None:
        """Every changed row and the events so far, in one statement."""
        if not self._rows and not self._events:
            return
        along = (_APPLY, self._columns()) if self._rows else None
        await self.outbox.add_events(self.conn, self._events, along=along)
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
