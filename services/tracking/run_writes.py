"""WriteRuns: pipelined run writes, applied in order, in groups.

The stream is read in a task of its own while the writes read so far are
applied: whatever arrived during one transaction goes into the next, so a
client that pipelines many small writes (a fluent run is a creation, a
batch or two and an end) pays one commit per group, not one per write, and
a group of fluent runs is written kind by kind (`run_groups.py`). A refused
write rolls its group back; the group is then applied write by write, so
the refused one changes nothing and the others still land. Each response
acknowledges the writes before `through` once they are committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg

from switchyard.errors import SwitchyardError
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.services.tracking import run_groups
from switchyard.services.tracking.store import Made, TrackingStore
from switchyard.services.tracking.writes import Batch, NewRun, Write, check

MAX_GROUP = 512  # writes per transaction: a bound on what one refusal makes us redo
MAX_GROUP_POINTS = 200_000  # metric points per transaction
INBOX = 64  # writes read ahead of the one applied: back-pressure beyond that


# -- WriteRuns -------------------------------------------------------------------


async def apply_one(store: TrackingStore, conn: asyncpg.Connection, made: Made, w: Write) -> int:
    """One checked write, in the caller's transaction; the metric points it wrote."""
    if isinstance(w, NewRun):
        run = (w.run_id, w.experiment_id, w.name, w.user_id, w.start_time, w.tags, w.parent)
        await store.create_run_in(conn, *run, made)
        return 0
    if isinstance(w, Batch):
        return await store.log_batch_in(conn, w.run_id, w.series, w.params, w.tags, made)
    await store.update_run_in(conn, w.run_id, w.status, w.end_time, w.name, made)
    return 0


def _run_of(write: pb.RunWrite) -> str:
    kind = write.WhichOneof("write")
    return str(getattr(write, kind).run_id) if kind else ""


def _refusal(index: int, write: pb.RunWrite, exc: SwitchyardError) -> pb.WriteError:
    return pb.WriteError(
        index=index,
        run_id=_run_of(write),
        code=exc.code.name,
        message=exc.message,
        field=exc.field or "",
    )


async def apply_group(
    store: TrackingStore, start: int, group: list[pb.RunWrite]
) -> pb.WriteRunsResponse:
    """Apply writes `start ...` in order: in one transaction, or one by one if refused."""
    response = pb.WriteRunsResponse(through=start + len(group))
    ready: list[tuple[int, Write]] = []
    for index, write in enumerate(group, start):
        try:
            ready.append((index, check(write)))
        except SwitchyardError as exc:
            response.errors.append(_refusal(index, write, exc))
    writes = [w for _, w in ready]
    async with store.db.pool.acquire() as conn:
        try:
            async with conn.transaction(), store.outbox.gathering(conn):
                made = Made()
                if run_groups.phased(writes):
                    written = await run_groups.apply(store, conn, made, writes)
                else:
                    written = 0
                    for w in writes:
                        written += await apply_one(store, conn, made, w)
            response.metrics_written = written
            return response
        except SwitchyardError:
            pass  # rolled back: find the refused write(s) alone, keep the rest
        written = 0
        for index, w in ready:
            try:
                async with conn.transaction(), store.outbox.gathering(conn):
                    written += await apply_one(store, conn, Made(), w)
            except SwitchyardError as exc:
                response.errors.append(_refusal(index, group[index - start], exc))
    response.metrics_written = written
    response.errors.sort(key=lambda e: e.index)
    return response


async def write_runs(
    store: TrackingStore, requests: AsyncIterator[pb.RunWrite]
) -> AsyncIterator[pb.WriteRunsResponse]:
    inbox: asyncio.Queue[pb.RunWrite | None] = asyncio.Queue(INBOX)
    failure: list[BaseException] = []

    async def read() -> None:
        try:
            async for write in requests:
                await inbox.put(write)
        except Exception as exc:  # the stream broke: apply what came, then fail
            failure.append(exc)
        await inbox.put(None)

    reader = asyncio.create_task(read(), name="write-runs-reader")
    start = 0
    try:
        ended = False
        while not ended:
            first = await inbox.get()
            if first is None:
                break
            group, points = [first], _points(first)
            while len(group) < MAX_GROUP and points < MAX_GROUP_POINTS and not inbox.empty():
                write = inbox.get_nowait()
                if write is None:
                    ended = True
                    break
                group.append(write)
                points += _points(write)
            response = await apply_group(store, start, group)
            start = response.through
            yield response
    finally:
        reader.cancel()
    if failure:
        raise failure[0]


def _points(write: pb.RunWrite) -> int:
    if write.WhichOneof("write") != "log_batch":
        return 1
    return 1 + sum(len(s.values) for s in write.log_batch.metrics)


__all__ = ["MAX_GROUP", "apply_group", "apply_one", "write_runs"]
