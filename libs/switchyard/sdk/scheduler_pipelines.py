"""Pipelines: a DAG of job steps, built in Python and run by the scheduler.

    pipe = sy.Pipeline("squares")
    make = pipe.step("make", ["sh", "-c", 'echo \\'{"xs": [1, 2, 3]}\\' > $SWITCHYARD_OUTPUTS'])
    sq = pipe.step("square", ["sh", "-c", "..."], for_each=make.output("xs"))
    total = pipe.step("sum", [...], inputs={"values": sq.output("y")}, cache=True)
    sy.run_pipeline(pipe).wait()

Or with decorated functions (run on a worker by `python -m
switchyard.sdk.scheduler_step module:function`; keyword arguments are inputs,
the returned dict is the step's outputs):

    @sy.step(cache=True)
    def square(x: int) -> dict: return {"y": x * x}

    with sy.Pipeline("squares") as pipe:
        xs = make()
        ys = square.map("x", xs.output("xs"))
        total(values=ys.output("y"))

A step with `cache=True` (or every step of `Pipeline(name, cache=True)`)
reuses an earlier success with the same cache key: the rendered spec, the
inputs, the keys of the steps it depends on, and a digest of the code it
runs that the client makes at submission (`step_code`: a function's source
and the local modules it uses, the files a command names, `code=FOLDER`,
the environment's lock file). A changed line re-runs its step and the steps
downstream; `run_pipeline(pipe, cache=False)` re-runs every step. Each step
run shows its key (`PipelineRun.steps[i].cache_key`).

A failed step (after its retries) starts nothing more: the steps not started
are SKIPPED (`PipelineRun.skipped`), and the pipeline is FAILED once every
step it started has ended, so `wait()` leaves nothing running behind it.
`cancel_pipeline` (`sy.pipelines.cancel`) cancels the running steps' jobs
and skips the rest: CANCELLED once those jobs have stopped.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from switchyard.errors import FailedPrecondition, InvalidArgument
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk import jobs
from switchyard.sdk.entities import PagedList
from switchyard.sdk.jobs import AsyncPipelineRun, PipelineRun
from switchyard.sdk.step_code import CodeDigests, StepCode

_current = threading.local()


class StepRef:
    """A step in a pipeline; `output(key)` names one of its outputs as an input."""

    def __init__(self, name: str) -> None:
        self.name = name

    def output(self, key: str) -> str:
        return "{{steps.%s.outputs.%s}}" % (self.name, key)  # noqa: UP031


class Pipeline:
    """A DAG of steps; `cache` is the default of its steps' `cache`."""

    def __init__(self, name: str, *, cache: bool = False) -> None:
        self.name = name
        self.cache = cache
        self.steps: list[pb.PipelineStep] = []
        self._code: dict[str, StepCode] = {}

    def __enter__(self) -> Pipeline:
        _current.pipeline = self
        return self

    def __exit__(self, *_: object) -> None:
        _current.pipeline = None

    def step(
        self,
        name: str,
        command: str | Sequence[str],
        *,
        after: Sequence[StepRef | str] = (),
        inputs: Mapping[str, Any] | None = None,
        for_each: str | Sequence[Any] | None = None,
        cache: bool | None = None,
        code: str | os.PathLike[str] | None = None,
        lock: str | os.PathLike[str] | None = None,
        **job_options: Any,
    ) -> StepRef:
        """Add a step; job options are those of `sy.submit_job` (cpus, gpus, max_retries...).

        `cache`: reuse an earlier success with the same cache key (None: the
        pipeline's default). `code`: a folder whose files are part of the key;
        `lock`: the environment's lock file, part of the key too.
        """
        spec = jobs.job_spec(command, **job_options)
        self.steps.append(
            pb.PipelineStep(
                name=name,
                job=spec,
                after=[a.name if isinstance(a, StepRef) else a for a in after],
                inputs={k: _json(v, "inputs") for k, v in (inputs or {}).items()},
                for_each=_json(for_each, "for_each") if for_each is not None else "",
                cache=self.cache if cache is None else cache,
            )
        )
        self._code[name] = StepCode(
            folder=Path(code).absolute() if code is not None else None,
            lock=Path(lock).absolute() if lock is not None else None,
        )
        return StepRef(name)

    def to_proto(self, *, cache: bool = True) -> pb.PipelineSpec:
        """The spec to run, each step with the digest of its code as it is now
        (files read once); `cache=False` turns every step's cache off."""
        digests = CodeDigests()
        steps = []
        for step in self.steps:
            out = pb.PipelineStep()
            out.CopyFrom(step)
            out.code_digest = digests.step(step.job, self._code.get(step.name, StepCode()))
            out.cache = step.cache and cache
            steps.append(out)
        return pb.PipelineSpec(name=self.name, steps=steps)


def _json(value: Any, field: str) -> str:
    """A step's input as the scheduler takes it: text as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{field}: {exc}", field=field) from None


class FunctionStep:
    """A decorated function: calling it inside `with Pipeline(...)` adds a step."""

    def __init__(self, fn: Callable[..., Any], options: dict[str, Any]) -> None:
        self.fn = fn
        self.options = options
        self.target = f"{fn.__module__}:{fn.__qualname__}"

    def _add(self, inputs: Mapping[str, Any], **extra: Any) -> StepRef:
        pipeline: Pipeline | None = getattr(_current, "pipeline", None)
        if pipeline is None:
            raise FailedPrecondition(f"call {self.fn.__name__} inside `with sy.Pipeline(...)`")
        name = self.options.get("name") or self.fn.__name__.replace("_", "-")
        taken = {s.name for s in pipeline.steps}
        unique, n = name, 1
        while unique in taken:
            n += 1
            unique = f"{name}-{n}"
        options = {k: v for k, v in self.options.items() if k != "name"}
        command = [sys.executable, "-m", "switchyard.sdk.scheduler_step", self.target]
        ref = pipeline.step(unique, command, inputs=inputs, **extra, **options)
        pipeline._code[unique] = replace(pipeline._code[unique], function=self.fn)
        return ref

    def __call__(self, **inputs: Any) -> StepRef:
        return self._add(inputs)

    def map(self, param: str, over: str | Sequence[Any], **inputs: Any) -> StepRef:
        """Fan out: one job per member of `over`, passed as `param`."""
        env = {**self.options.get("env", {}), "SY_ITEM_PARAM": param}
        options = self.options
        self.options = {**options, "env": env}
        try:
            return self._add(inputs, for_each=over)
        finally:
            self.options = options


def step(**options: Any) -> Callable[[Callable[..., Any]], FunctionStep]:
    """Make a function a pipeline step; options: those of `sy.submit_job`, `cache`,
    `code` and `lock` (its source and the local modules it uses are in its cache
    key without them)."""

    def wrap(fn: Callable[..., Any]) -> FunctionStep:
        return FunctionStep(fn, options)

    return wrap


def run_pipeline(
    pipeline: Pipeline, *, cache: bool = True, client: jobs.JobsClient | None = None
) -> PipelineRun:
    """Start a pipeline; returns at once (`.wait()` for the end). `cache=False`:
    every step runs, whatever its own `cache` says."""
    return (client or jobs.default_client()).run_pipeline(pipeline, cache=cache)


def get_pipeline(pipeline_id: str, *, client: jobs.JobsClient | None = None) -> PipelineRun:
    return (client or jobs.default_client()).get_pipeline(pipeline_id)


def list_pipelines(
    state: Iterable[str] | str | None = None,
    *,
    limit: int = 50,
    page_token: str | None = None,
    client: jobs.JobsClient | None = None,
) -> PagedList[PipelineRun]:
    """Newest first, in `state` (a name or several; None: all), without their
    steps; `.token` of the result asks for the next page."""
    return (client or jobs.default_client()).list_pipelines(
        state=state, limit=limit, page_token=page_token
    )


def cancel_pipeline(pipeline_id: str, *, client: jobs.JobsClient | None = None) -> PipelineRun:
    """Cancel its running steps and start no other; CANCELLED once they have
    stopped (`.wait()`); an ended pipeline comes back as it is."""
    return (client or jobs.default_client()).cancel_pipeline(pipeline_id)


__all__ = [
    "AsyncPipelineRun",
    "FunctionStep",
    "Pipeline",
    "PipelineRun",
    "StepRef",
    "cancel_pipeline",
    "get_pipeline",
    "list_pipelines",
    "run_pipeline",
    "step",
]
