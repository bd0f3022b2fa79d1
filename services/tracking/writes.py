"""Run writes checked: what CreateRun, LogBatch and UpdateRun take, as values,
shared by those RPCs and by WriteRuns (which applies them in groups)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from switchyard.core import validation as check_ids
from switchyard.core.ids import new_run_id, now_ms
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.services.tracking import names, validation
from switchyard.services.tracking.states import STATUS_NAMES


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
    run_id = check_ids.hex_id(request.run_id or new_run_id(), "run_id", "run id")
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


Write = NewRun | Batch | Update


def check(write: pb.RunWrite) -> Write:
    """The write checked; raises its refusal (InvalidArgument, NotFound)."""
    kind = write.WhichOneof("write")
    if kind == "create_run":
        return new_run(write.create_run)
    if kind == "log_batch":
        return batch(write.log_batch)
    if kind == "update_run":
        return update(write.update_run)
    raise InvalidArgument("a run write needs create_run, log_batch or update_run", field="write")


__all__ = ["Batch", "NewRun", "Update", "Write", "batch", "check", "new_run", "update"]
