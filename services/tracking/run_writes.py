"""Run writes: the request checks CreateRun, LogBatch and UpdateRun share with
WriteRuns, and WriteRuns itself (pipelined writes, applied in order).

WriteRuns reads the stream in a task of its own while the writes read so far
are applied: whatever arrived during one transaction goes into the next, so
a client that pipelines many small writes (a fluent run is a creation, a
batch and an end) pays one commit per group, not one per write. A refused
write rolls its group back; the group is then applied write by write, so
the refused one changes nothing and the others still land. Each response
acknowledges the writes before `through` once they are committed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from switchyard.core import validation as check
from switchyard.core.ids import new_run_id, now_ms
from switchyard.errors import InvalidArgument, SwitchyardError
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.services.tracking import names, validation
from switchyard.services.tracking.states import STATUS_NAMES
from switchyard.services.tracking.store import TrackingStore

MAX_GROUP = 512  # writes per transaction: a bound on what one refusal makes us redo
MAX_GROUP_POINTS = 200_000  # metric points per transaction
INBOX = 64  # writes read ahead of the one applied: back-pressure beyond that


@dataclass(frozen=True, slots=True)
class NewRun:
    run_id: uuid.UUID
    experiment_id: int
    name: str
    user_id: str
    start_time: int
    tags: dict[str, str]
    parent: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Batch:
    run_id: uuid.UUID
    series: list[pb.MetricSeries]
    params: dict[str, str]
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class Update:
    run_id: uuid.UUID
    status: str | None
    end_time: int | None
    name: str | None


def new_run(request: pb.CreateRunRequest) -> NewRun:
    exp_id = validation.experiment_id(request.experiment_id or "0")
    tags = validation.tags(request.tags)
    parent = (
        validation.run_id(request.parent_run_id, "parent_run_id") if request.parent_run_id else None
    )
    name = request.run_name or tags.get("mlflow.runName") or names.generate()
    validation.text(name, "run_name", validation.MAX_NAME)
    if request.start_time < 0:
        raise InvalidArgument("start_time must not be negative", field="start_time")
    # A client-made id is new, not a lookup: malformed, it is bad input.
    run_id = check.hex_id(request.run_id or new_run_id(), "run_id", "run id")
    return NewRun(
        run_id, exp_id, name, request.user_id, request.start_time or now_ms(), tags, parent
    )


def batch(request: pb.LogBatchRequest) -> Batch:
    return Batch(
        validation.run_id(request.run_id),
        validation.series(request.metrics),
        validation.params(request.params),
        validation.tags(request.tags),
    )


def update(request: pb.UpdateRunRequest) -> Update:
    run_id = validation.run_id(request.run_id)
    status = STATUS_NAMES.get(request.status) if request.status else None
    if request.status and status is None:
        raise InvalidArgument(f"status {request.status} is not a run status", field="status")
    end_time = request.end_time if request.HasField("end_time") else None
    name = validation.text(request.run_name, "run_name", validation.MAX_NAME) or None
    return Update(run_id, status, end_time, name)


# -- WriteRuns -------------------------------------------------------------------

Apply = Callable[[asyncpg.Connection], Awaitable[int]]  # the metric points it wrote


@dataclass(frozen=True, slots=True)
class Prepared:
    index: int
    apply: Apply


def _prepare(store: TrackingStore, write: pb.RunWrite) -> Apply:
    """The write checked and bound to the store; raises its refusal (InvalidArgument)."""
    kind = write.WhichOneof("write")
    if kind == "create_run":
        r = new_run(write.create_run)

        async def create(conn: asyncpg.Connection) -> int:
            tags = dict(r.tags)  # the store adds the name and parent tags
            await store.create_run_in(
                conn, r.run_id, r.experiment_id, r.name, r.user_id, r.start_time, tags, r.parent
            )
            return 0

        return create
    if kind == "log_batch":
        b = batch(write.log_batch)
        return lambda conn: store.log_batch_in(conn, b.run_id, b.series, b.params, b.tags)
    if kind == "update_run":
        u = update(write.update_run)

        async def end(conn: asyncpg.Connection) -> int:
            await store.update_run_in(conn, u.run_id, u.status, u.end_time, u.name)
            return 0

        return end
    raise InvalidArgument("a run write needs create_run, log_batch or update_run", field="write")


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
    ready: list[Prepared] = []
    for index, write in enumerate(group, start):
        try:
            ready.append(Prepared(index, _prepare(store, write)))
        except SwitchyardError as exc:
            response.errors.append(_refusal(index, write, exc))
    async with store.db.pool.acquire() as conn:
        try:
            async with conn.transaction():
                written = 0
                for item in ready:
                    written += await item.apply(conn)
            response.metrics_written = written
            return response
        except SwitchyardError:
            pass  # rolled back: find the refused write(s) alone, keep the rest
        written = 0
        for item in ready:
            try:
                async with conn.transaction():
                    written += await item.apply(conn)
            except SwitchyardError as exc:
                response.errors.append(_refusal(item.index, group[item.index - start], exc))
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


__all__ = ["MAX_GROUP", "apply_group", "batch", "new_run", "update", "write_runs"]
