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
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from switchyard.errors import DeadlineExceeded
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk import jobs

_current = threading.local()
FINAL = ("SUCCEEDED", "FAILED")


class StepRef:
    """A step in a pipeline; `output(key)` names one of its outputs as an input."""

    def __init__(self, name: str) -> None:
        self.name = name

    def output(self, key: str) -> str:
        return "{{steps.%s.outputs.%s}}" % (self.name, key)  # noqa: UP031


class Pipeline:
    def __init__(self, name: str) -> None:
        self.name = name
        self.steps: list[pb.PipelineStep] = []

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
        cache: bool = False,
        **job_options: Any,
    ) -> StepRef:
        """Add a step; job options are those of `sy.submit_job` (cpus, gpus, max_retries...)."""
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        spec = jobs.job_spec(argv, **job_options)
        fan = for_each if isinstance(for_each, str) or for_each is None else json.dumps(for_each)
        self.steps.append(
            pb.PipelineStep(
                name=name,
                job=spec,
                after=[a.name if isinstance(a, StepRef) else a for a in after],
                inputs={
                    k: v if isinstance(v, str) else json.dumps(v) for k, v in (inputs or {}).items()
                },
                for_each=fan or "",
                cache=cache,
            )
        )
        return StepRef(name)

    def to_proto(self) -> pb.PipelineSpec:
        return pb.PipelineSpec(name=self.name, steps=self.steps)


class FunctionStep:
    """A decorated function: calling it inside `with Pipeline(...)` adds a step."""

    def __init__(self, fn: Callable[..., Any], options: dict[str, Any]) -> None:
        self.fn = fn
        self.options = options
        self.target = f"{fn.__module__}:{fn.__qualname__}"

    def _add(self, inputs: Mapping[str, Any], **extra: Any) -> StepRef:
        pipeline: Pipeline | None = getattr(_current, "pipeline", None)
        if pipeline is None:
            raise RuntimeError(f"call {self.fn.__name__} inside `with sy.Pipeline(...)`")
        name = self.options.get("name") or self.fn.__name__.replace("_", "-")
        taken = {s.name for s in pipeline.steps}
        unique, n = name, 1
        while unique in taken:
            n += 1
            unique = f"{name}-{n}"
        options = {k: v for k, v in self.options.items() if k != "name"}
        command = [sys.executable, "-m", "switchyard.sdk.scheduler_step", self.target]
        return pipeline.step(unique, command, inputs=inputs, **extra, **options)

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
    """Make a function a pipeline step; options: those of `sy.submit_job`, `cache`."""

    def wrap(fn: Callable[..., Any]) -> FunctionStep:
        return FunctionStep(fn, options)

    return wrap


class PipelineRun:
    def __init__(self, proto: pb.Pipeline, client: jobs.JobsClient) -> None:
        self._proto = proto
        self._client = client

    @property
    def id(self) -> str:
        return self._proto.pipeline_id

    @property
    def state(self) -> str:
        return pb.PipelineState.Name(self._proto.state).removeprefix("PIPELINE_")  # type: ignore[arg-type]

    @property
    def message(self) -> str:
        return self._proto.message

    @property
    def steps(self) -> list[pb.StepRun]:
        return list(self._proto.steps)

    def outputs(self, step: str) -> list[dict[str, str]]:
        return [dict(s.outputs) for s in self._proto.steps if s.step == step]

    def refresh(self) -> PipelineRun:
        req = pb.GetPipelineRequest(pipeline_id=self.id)
        self._proto = self._client._call("GetPipeline", req).pipeline
        return self

    def wait(self, timeout: float | None = None) -> PipelineRun:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.refresh().state not in FINAL:
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlineExceeded(f"pipeline {self.id} is still {self.state}")
            time.sleep(0.1)
        return self


def run_pipeline(pipeline: Pipeline, *, client: jobs.JobsClient | None = None) -> PipelineRun:
    """Start a pipeline; returns at once (`.wait()` for the end)."""
    client = client or jobs._default()
    reply = client._call("RunPipeline", pb.RunPipelineRequest(spec=pipeline.to_proto()))
    return PipelineRun(reply.pipeline, client)


def get_pipeline(pipeline_id: str, *, client: jobs.JobsClient | None = None) -> PipelineRun:
    client = client or jobs._default()
    reply = client._call("GetPipeline", pb.GetPipelineRequest(pipeline_id=pipeline_id))
    return PipelineRun(reply.pipeline, client)
