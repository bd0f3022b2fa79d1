"""What a job is asked to be: `job_spec` from `submit_job`'s arguments."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk.arguments import checked, pairs

STATES = ("QUEUED", "ADMITTED", "RUNNING", "RETRYING", "SUCCEEDED", "FAILED", "CANCELLED")
FINAL_STATES = frozenset(("SUCCEEDED", "FAILED", "CANCELLED"))
_UNITS = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


def parse_memory_mb(memory: int | str | None) -> int:
    """Megabytes from an int (MB) or a string such as '512M', '4G', '4Gi'."""
    if memory is None:
        return 0
    if isinstance(memory, int) and not isinstance(memory, bool):
        return memory
    bad = InvalidArgument(f"memory {memory!r} is not a size like 512M or 4G", field="memory")
    if not isinstance(memory, str):
        raise bad
    text = memory.strip().upper().removesuffix("I").removesuffix("B")
    scale = 1.0
    if text and text[-1] in _UNITS:
        text, scale = text[:-1], _UNITS[text[-1]]
    try:
        size = float(text) * scale
    except ValueError:
        raise bad from None
    if not math.isfinite(size):
        raise bad
    return int(size)


def state_name(state: int) -> str:
    return pb.JobState.Name(state).removeprefix("JOB_")  # type: ignore[arg-type]


PIPELINE_STATES = ("RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")


def pipeline_state_labels(states: Iterable[str] | str | None) -> list[str]:
    """`list_pipelines`' state names as the wire's enum labels (one name alone is fine)."""
    wanted = []
    for s in [states] if isinstance(states, str) else states or ():
        name = str(s).upper()
        if name not in PIPELINE_STATES:
            raise InvalidArgument(
                f"unknown state {s!r}; one of {', '.join(PIPELINE_STATES)}", field="state"
            )
        wanted.append(f"PIPELINE_{name}")
    return wanted


def state_labels(states: Iterable[str] | str | None) -> list[str]:
    """`list_jobs`' state names as the wire's enum labels (one name alone is fine)."""
    wanted = []
    for s in [states] if isinstance(states, str) else states or ():
        name = str(s).upper()
        if name not in STATES:
            raise InvalidArgument(
                f"unknown state {s!r}; one of {', '.join(STATES)}", field="states"
            )
        wanted.append(f"JOB_{name}")
    return wanted


@checked
def job_spec(
    command: str | Sequence[str],
    *,
    name: str | None = None,
    pool: str = "default",
    queue: str = "default",
    priority: int = 0,
    cpus: float = 1.0,
    memory: int | str | None = None,
    gpus: int = 0,
    gpu_type: str | None = None,
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    max_retries: int = 0,
    timeout: float | None = None,
    gang_size: int = 1,
    experiment: str | None = None,
    max_worker_losses: int = 0,
) -> pb.JobSpec:
    """The JobSpec message for `submit_job`'s arguments (a str command runs in /bin/sh)."""
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    return pb.JobSpec(
        name=name or "",
        command=argv,
        workdir=workdir or "",
        env=dict(pairs(env, "env")),
        resources=pb.Resources(
            cpus=cpus, memory_mb=parse_memory_mb(memory), gpus=gpus, gpu_type=gpu_type or ""
        ),
        pool=pool,
        queue=queue,
        priority=priority,
        max_retries=max_retries,
        timeout_s=timeout or 0.0,
        gang_size=gang_size,
        experiment=experiment or "",
        max_worker_losses=max_worker_losses,
    )
