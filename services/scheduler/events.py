"""What the scheduler publishes (through the outbox, in the caller's transaction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg

from switchyard.core import event_types as et
from switchyard.core.events import Event
from switchyard.core.outbox import Outbox
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.proto.v1 import scheduler_pb2 as pb

BY_STATE = {
    "QUEUED": et.JOB_QUEUED,
    "RUNNING": et.JOB_STARTED,
    "SUCCEEDED": et.JOB_SUCCEEDED,
    "FAILED": et.JOB_FAILED,
    "CANCELLED": et.JOB_CANCELLED,
    "RETRYING": et.JOB_RETRYING,
}


def job_events(
    outbox: Outbox, jobs: Sequence[pb.Job], traces: Sequence[Mapping[str, str] | None]
) -> list[Event]:
    """The events of several jobs' changes, each with its caller's trace, to write together."""
    batch = []
    for job, trace in zip(jobs, traces, strict=True):
        kind = BY_STATE.get(pb.JobState.Name(job.state).removeprefix("JOB_"))
        if kind is not None:
            batch.append(outbox.event(kind, job.job_id, ev.JobChanged(job=job), trace))
    return batch


async def worker_changed(
    outbox: Outbox,
    conn: asyncpg.Connection,
    kind: et.EventType,
    worker_id: str,
    pool: str,
    capacity: pb.Resources,
    host: str,
) -> None:
    payload = ev.WorkerChanged(worker_id=worker_id, pool=pool, capacity=capacity, host=host)
    await outbox.add(conn, kind, worker_id, payload)


async def job_logged(outbox: Outbox, conn: asyncpg.Connection, req: pb.AppendLogsRequest) -> None:
    payload = ev.JobLogged(
        job_id=req.job_id, attempt=req.attempt, rank=req.rank, stream=req.stream, text=req.text
    )
    await outbox.add(conn, et.JOB_LOGGED, req.job_id, payload)
