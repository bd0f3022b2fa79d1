"""`rerun`: a job submitted again as it ran, with the same code and parameters.

The new job gets the origin's spec (command, env, resources, placement,
experiment) with the overrides given, `rerun_of` naming the origin, and the
code version the origin's run recorded (`switchyard.code.version`, see
`switchyard.services.trainer_worker.provenance`). A worker whose code is not
that version fails the rerun at start, saying which versions differ, unless
`allow_code_change=True` (then the new run records the code it ran). An
origin without a run (no experiment) recorded no code version: its rerun is
not checked, as a rerun of a rerun carries on its origin's version.
"""

from __future__ import annotations

from collections.abc import Mapping

from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk.arguments import checked, pairs
from switchyard.sdk.jobs._specs import parse_memory_mb

CODE_VERSION_TAG = "switchyard.code.version"


@checked
def rerun_spec(
    origin: pb.Job,
    run_tags: Mapping[str, str],
    *,
    allow_code_change: bool = False,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    pool: str | None = None,
    queue: str | None = None,
    priority: int | None = None,
    cpus: float | None = None,
    memory: int | str | None = None,
    gpus: int | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    experiment: str | None = None,
) -> pb.JobSpec:
    """The spec of a rerun of `origin`, whose run has `run_tags` ({} if none)."""
    spec = pb.JobSpec()
    spec.CopyFrom(origin.spec)
    spec.rerun_of = origin.job_id
    version = run_tags.get(CODE_VERSION_TAG, origin.spec.code_version)
    spec.code_version = "" if allow_code_change else version
    spec.env.update(dict(pairs(env, "env")))
    for field, value in (
        ("name", name),
        ("pool", pool),
        ("queue", queue),
        ("priority", priority),
        ("timeout_s", timeout),
        ("max_retries", max_retries),
        ("experiment", experiment),
    ):
        if value is not None:
            setattr(spec, field, value)
    if cpus is not None:
        spec.resources.cpus = cpus
    if memory is not None:
        spec.resources.memory_mb = parse_memory_mb(memory)
    if gpus is not None:
        spec.resources.gpus = gpus
    return spec
