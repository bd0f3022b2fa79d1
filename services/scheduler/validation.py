"""Input rules for jobs, checked before any write; each failure names its field.

The checks every service shares (ids, text, numbers) live in
`switchyard.core.validation`; these are the scheduler's: job specs, pools, queues.
"""

from __future__ import annotations

import uuid

from switchyard.core import validation as check
from switchyard.core.jobs import POOL_NAME
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import scheduler_pb2 as pb

MAX_NAME = 250
QUEUE_LIMITS = ("max_cpus", "max_gpus", "max_memory_mb", "max_jobs")  # the queues' columns
MAX_GANG = 1024
DEFAULT_WORKER_LOSSES = 3


def job_id(value: str, field: str = "job_id") -> uuid.UUID:
    return check.hex_id(value, field, "job id")


def pipeline_id(value: str) -> uuid.UUID:
    return check.hex_id(value, "pipeline_id", "pipeline id")


def pool(value: str, field: str = "pool") -> str:
    if not POOL_NAME.fullmatch(value):
        raise InvalidArgument(
            f"{field} '{value}' must be lowercase letters, digits, '_' or '-'", field=field
        )
    return value


def spec(raw: pb.JobSpec) -> pb.JobSpec:
    """A copy of the spec with defaults filled in, or InvalidArgument."""
    s = pb.JobSpec()
    s.CopyFrom(raw)
    if not s.command:
        raise InvalidArgument("command must not be empty", field="command")
    if not s.name:
        s.name = s.command[0].rsplit("/", 1)[-1][:MAX_NAME]
    check.text(s.name, "name", MAX_NAME)
    s.pool = pool(s.pool or "default")
    s.queue = s.queue or "default"
    r = s.resources
    check.non_negative(r.cpus, "resources.cpus")
    check.non_negative(r.memory_mb, "resources.memory_mb")
    check.non_negative(r.gpus, "resources.gpus")
    check.non_negative(s.timeout_s, "timeout_s")
    check.non_negative(s.max_retries, "max_retries")
    check.non_negative(s.max_worker_losses, "max_worker_losses")
    if s.gang_size < 0 or s.gang_size > MAX_GANG:
        raise InvalidArgument(
            f"gang_size must be 1..{MAX_GANG} (got {s.gang_size})", field="gang_size"
        )
    s.gang_size = s.gang_size or 1
    s.max_worker_losses = s.max_worker_losses or DEFAULT_WORKER_LOSSES
    for key, value in s.env.items():
        if not key or "=" in key or "\0" in key:
            raise InvalidArgument(f"env key '{key}' is not a variable name", field="env")
        check.storable(value, f"env[{key}]")  # exec cannot pass a NUL on
    if s.rerun_of:
        job_id(s.rerun_of, "rerun_of")
    check.text(s.code_version, "code_version", MAX_NAME)
    return s


def queue(raw: pb.PutQueueRequest) -> pb.PutQueueRequest:
    queue_name(raw.name)
    check.non_negative(raw.max_cpus, "max_cpus")
    check.non_negative(raw.max_gpus, "max_gpus")
    return raw


def queue_name(value: str, field: str = "name") -> str:
    if not POOL_NAME.fullmatch(value):
        raise InvalidArgument(
            f"queue name '{value}' must be lowercase letters, digits, '_' or '-'", field=field
        )
    return value


def queue_limits(raw: pb.CreateQueueRequest | pb.UpdateQueueRequest) -> dict[str, float | None]:
    """The limits a create or update sets, by column (None: no limit, as 0 is on the wire).

    An update's unset fields are left out: they keep their value.
    """
    limits: dict[str, float | None] = {}
    for field in QUEUE_LIMITS:
        if isinstance(raw, pb.UpdateQueueRequest) and not raw.HasField(field):
            continue
        value = check.non_negative(getattr(raw, field), field)
        limits[field] = value or None
    return limits
