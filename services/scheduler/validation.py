"""Input rules for jobs, checked before any write; each failure names its field."""

from __future__ import annotations

import math
import uuid

from switchyard.core.ids import parse_hex_id
from switchyard.core.jobs import POOL_NAME
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import scheduler_pb2 as pb

MAX_NAME = 250
MAX_GANG = 1024
DEFAULT_WORKER_LOSSES = 3


def job_id(value: str, field: str = "job_id") -> uuid.UUID:
    parsed = parse_hex_id(value)
    if parsed is None:
        raise InvalidArgument(f"{field} '{value}' is not a job id (32 hex characters)", field=field)
    return parsed


def pool(value: str, field: str = "pool") -> str:
    if not POOL_NAME.fullmatch(value):
        raise InvalidArgument(
            f"{field} '{value}' must be lowercase letters, digits, '_' or '-'", field=field
        )
    return value


def _non_negative(value: float, field: str) -> None:
    if value < 0 or math.isnan(value) or math.isinf(value):
        raise InvalidArgument(f"{field} must be a finite number >= 0 (got {value})", field=field)


def spec(raw: pb.JobSpec) -> pb.JobSpec:
    """A copy of the spec with defaults filled in, or InvalidArgument."""
    s = pb.JobSpec()
    s.CopyFrom(raw)
    if not s.command:
        raise InvalidArgument("command must not be empty", field="command")
    if not s.name:
        s.name = s.command[0].rsplit("/", 1)[-1][:MAX_NAME]
    if len(s.name) > MAX_NAME:
        raise InvalidArgument(f"name exceeds {MAX_NAME} characters", field="name")
    s.pool = pool(s.pool or "default")
    s.queue = s.queue or "default"
    r = s.resources
    _non_negative(r.cpus, "resources.cpus")
    _non_negative(r.memory_mb, "resources.memory_mb")
    _non_negative(r.gpus, "resources.gpus")
    _non_negative(s.timeout_s, "timeout_s")
    _non_negative(s.max_retries, "max_retries")
    _non_negative(s.max_worker_losses, "max_worker_losses")
    if s.gang_size < 0 or s.gang_size > MAX_GANG:
        raise InvalidArgument(
            f"gang_size must be 1..{MAX_GANG} (got {s.gang_size})", field="gang_size"
        )
    s.gang_size = s.gang_size or 1
    s.max_worker_losses = s.max_worker_losses or DEFAULT_WORKER_LOSSES
    for key in s.env:
        if not key or "=" in key or "\0" in key:
            raise InvalidArgument(f"env key '{key}' is not a variable name", field="env")
    return s


def queue(raw: pb.PutQueueRequest) -> pb.PutQueueRequest:
    if not POOL_NAME.fullmatch(raw.name):
        raise InvalidArgument(f"queue name '{raw.name}' is not valid", field="name")
    _non_negative(raw.max_cpus, "max_cpus")
    _non_negative(raw.max_gpus, "max_gpus")
    return raw
