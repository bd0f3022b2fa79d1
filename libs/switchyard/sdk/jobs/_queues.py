"""Queues as the SDK shows them: `Queue` (limits, what its jobs hold, what waits),
and the requests that create and change one.

A limit bounds what a queue's admitted and running jobs hold together (every
process of a gang counted); None is no limit. `update_queue` changes only the
limits it is given: `UNCHANGED`, its default, keeps one, None lifts it.
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk.jobs._specs import parse_memory_mb


class Unchanged(enum.Enum):
    """The type of `UNCHANGED`: `update_queue` keeps a limit given it."""

    UNCHANGED = "UNCHANGED"

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True)
class Queue:
    """A queue as last seen: its limits (None: no limit), whether it is paused,
    what its ADMITTED and RUNNING jobs hold, and its QUEUED and RETRYING jobs."""

    name: str
    max_cpus: float | None
    max_gpus: int | None
    max_memory_mb: int | None
    max_jobs: int | None
    paused: bool
    used_cpus: float
    used_gpus: int
    used_memory_mb: int
    running_jobs: int  # ADMITTED or RUNNING
    queued_jobs: int  # QUEUED or RETRYING
    oldest_queued_ms: int | None  # when its longest-waiting job was submitted

    @classmethod
    def from_proto(cls, q: pb.Queue) -> Queue:
        return cls(
            name=q.name,
            max_cpus=q.max_cpus or None,
            max_gpus=q.max_gpus or None,
            max_memory_mb=q.max_memory_mb or None,
            max_jobs=q.max_jobs or None,
            paused=q.paused,
            used_cpus=q.used_cpus,
            used_gpus=q.used_gpus,
            used_memory_mb=q.used_memory_mb,
            running_jobs=q.active_jobs,
            queued_jobs=q.waiting_jobs,
            oldest_queued_ms=q.oldest_waiting_ms or None,
        )

    @property
    def oldest_wait(self) -> float | None:
        """Seconds its longest-waiting job has waited so far; None when none waits."""
        if self.oldest_queued_ms is None:
            return None
        return max(0.0, time.time() - self.oldest_queued_ms / 1000)


Limit = float | int | str | None


def _limit(value: object, field: str, *, memory: bool = False) -> float:
    """A limit as the wire has it: 0 for None (no limit), else a number above 0
    (memory: MB, or a size such as '4G')."""
    if value is None:
        return 0
    number: float
    if memory and isinstance(value, str):
        try:
            number = parse_memory_mb(value)
        except InvalidArgument as exc:
            raise InvalidArgument(exc.message, field=field) from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    else:
        raise InvalidArgument(f"{field} must be a number or None, got {value!r}", field=field)
    if not (number > 0 and math.isfinite(number)):
        raise InvalidArgument(
            f"{field} must be more than 0 (None: no limit; pause_queue stops admission),"
            f" got {value!r}",
            field=field,
        )
    return number


def _whole(value: object, field: str) -> int:
    number = _limit(value, field)
    if number != int(number):
        raise InvalidArgument(f"{field} must be a whole number, got {value!r}", field=field)
    return int(number)


def create_request(
    name: str, max_cpus: Limit, max_gpus: Limit, max_memory: Limit, max_jobs: Limit
) -> pb.CreateQueueRequest:
    return pb.CreateQueueRequest(
        name=name,
        max_cpus=_limit(max_cpus, "max_cpus"),
        max_gpus=_whole(max_gpus, "max_gpus"),
        max_memory_mb=int(_limit(max_memory, "max_memory", memory=True)),
        max_jobs=_whole(max_jobs, "max_jobs"),
    )


def update_request(
    name: str,
    max_cpus: Limit | Unchanged,
    max_gpus: Limit | Unchanged,
    max_memory: Limit | Unchanged,
    max_jobs: Limit | Unchanged,
    paused: bool | None = None,
) -> pb.UpdateQueueRequest:
    """Only what is not UNCHANGED is set; a limit of 0 on the wire lifts it."""
    req = pb.UpdateQueueRequest(name=name)
    if max_cpus is not UNCHANGED:
        req.max_cpus = _limit(max_cpus, "max_cpus")
    if max_gpus is not UNCHANGED:
        req.max_gpus = _whole(max_gpus, "max_gpus")
    if max_memory is not UNCHANGED:
        req.max_memory_mb = int(_limit(max_memory, "max_memory", memory=True))
    if max_jobs is not UNCHANGED:
        req.max_jobs = _whole(max_jobs, "max_jobs")
    if paused is not None:
        req.paused = paused
    return req
