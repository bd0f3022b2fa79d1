"""Pipelines as data: DAG checks, input references, templating, cache digests.

A step depends on the steps in `after` and on every step its inputs or
`for_each` reference (`{{steps.S.outputs.K}}`). A reference to a fanned-out
step resolves to a JSON list of each member's value (fan-in). A step's job
spec may hold `{{inputs.NAME}}` and `{{item}}` in its command, env values and
workdir. A step's cache key is the digest of its rendered spec (inputs in
it), the digest of its code the client sent (`code_digest`: see
switchyard.sdk.step_code) and the keys of the steps it depends on, so a
changed line re-runs its step and every step downstream of it.

`progress` decides what a pipeline does next from its step runs' states: once
a step has failed (or the pipeline is being cancelled) nothing new starts and
the steps not started are SKIPPED, but the pipeline ends only when every run
it started has ended, so a sibling still running is never left behind.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.scheduler import validation

REF = re.compile(r"\{\{\s*steps\.([\w.-]+?)\.outputs\.([\w-]+)\s*\}\}")
PLACEHOLDER = re.compile(r"\{\{\s*(?:inputs\.([\w-]+)|(item))\s*\}\}")
STEP_NAME = re.compile(r"^[A-Za-z0-9][\w-]{0,62}$")
SKIPPED = "SKIPPED"  # a step run's state: the step never ran and never will
RUN_ENDED = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", SKIPPED})


def dependencies(step: pb.PipelineStep) -> set[str]:
    refs = [*step.inputs.values(), step.for_each]
    return set(step.after) | {m.group(1) for v in refs for m in REF.finditer(v)}


def validate(raw: pb.PipelineSpec) -> pb.PipelineSpec:
    spec = pb.PipelineSpec()
    spec.CopyFrom(raw)
    if not spec.steps:
        raise InvalidArgument("a pipeline needs at least one step", field="steps")
    names = [s.name for s in spec.steps]
    for i, step in enumerate(spec.steps):
        if not STEP_NAME.fullmatch(step.name):
            raise InvalidArgument(f"step name '{step.name}' is not valid", field=f"steps[{i}].name")
        if names.count(step.name) > 1:
            raise InvalidArgument(f"step '{step.name}' is defined twice", field=f"steps[{i}].name")
        for dep in dependencies(step):
            if dep not in names:
                raise InvalidArgument(
                    f"step '{step.name}' depends on unknown step '{dep}'", field=f"steps[{i}].after"
                )
        step.job.CopyFrom(validation.spec(step.job))
    _check_acyclic(spec.steps)
    return spec


def _check_acyclic(steps: Sequence[pb.PipelineStep]) -> None:
    deps = {s.name: dependencies(s) for s in steps}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise InvalidArgument(f"the pipeline has a cycle: {cycle}", field="steps")
        if name in done:
            return
        for dep in sorted(deps[name]):
            visit(dep, [*path, name])
        done.add(name)

    for name in deps:
        visit(name, [])


def resolve(value: str, outputs: Mapping[str, list[dict[str, str]]]) -> str:
    """Replace output references with values (a JSON list for a fanned-out step)."""

    def one(m: re.Match[str]) -> str:
        runs = outputs[m.group(1)]
        values = [run.get(m.group(2), "") for run in runs]
        return values[0] if len(runs) == 1 and not _fanned(runs) else json.dumps(values)

    return REF.sub(one, value)


def _fanned(runs: list[dict[str, str]]) -> bool:
    return bool(runs) and "__fanout__" in runs[0]


def items(for_each: str) -> list[str] | None:
    """The fan-out members, or None when the step is not fanned out."""
    if not for_each:
        return None
    try:
        values = json.loads(for_each)
    except json.JSONDecodeError:
        raise InvalidArgument(
            f"for_each is not a JSON list: {for_each[:80]}", field="for_each"
        ) from None
    if not isinstance(values, list):
        raise InvalidArgument("for_each must be a JSON list", field="for_each")
    return [v if isinstance(v, str) else json.dumps(v) for v in values]


def render(job: pb.JobSpec, inputs: Mapping[str, str], item: str | None) -> pb.JobSpec:
    def fill(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            if m.group(2):
                return item or ""
            return inputs.get(m.group(1), "")

        return PLACEHOLDER.sub(one, text)

    out = pb.JobSpec()
    out.CopyFrom(job)
    del out.command[:]
    out.command.extend(fill(arg) for arg in job.command)
    for key, value in job.env.items():
        out.env[key] = fill(value)
    for key, value in inputs.items():
        out.env[f"SY_INPUT_{key.upper().replace('-', '_')}"] = value
    if item is not None:
        out.env["SY_ITEM"] = item
    out.workdir = fill(job.workdir)
    return out


KEY_VERSION = b"switchyard.step-cache/2"  # a new one when what goes in changes


def digest(job: pb.JobSpec, code: str = "", upstream: Sequence[str] = ()) -> str:
    """The cache key: spec (inputs rendered in), code digest, the keys of the
    step runs it depends on (in order); names and priority don't count."""
    key = pb.JobSpec()
    key.CopyFrom(job)
    key.name = ""
    key.priority = 0
    h = hashlib.sha256(KEY_VERSION)
    spec = key.SerializeToString(deterministic=True)
    for part in (spec, code.encode(), *map(str.encode, upstream)):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def upstream_keys(step: pb.PipelineStep, keys: Mapping[str, Sequence[str]]) -> list[str]:
    """The keys of the runs of the steps `step` depends on, by step name then index."""
    return [f"{name}={key}" for name in sorted(dependencies(step)) for key in keys.get(name, ())]


@dataclass(frozen=True)
class Progress:
    """What a pipeline does next: its state (RUNNING until every started run
    ended), the message it ends with, and the steps that will never start."""

    state: str
    message: str = ""
    skip: tuple[str, ...] = ()
    stopping: bool = False  # a step failed or a cancel came: start nothing more


def progress(
    steps: Sequence[str], runs: Mapping[str, Sequence[str]], *, cancelling: bool = False
) -> Progress:
    """The next move, given the steps in spec order and each started step's run states."""
    failed = [
        (name, state)
        for name in steps
        for state in sorted(set(runs.get(name, ())))
        if state in ("FAILED", "CANCELLED")
    ]
    stopping = cancelling or bool(failed)
    skip = tuple(name for name in steps if name not in runs) if stopping else ()
    if any(state not in RUN_ENDED for states in runs.values() for state in states):
        return Progress("RUNNING", skip=skip, stopping=stopping)
    if cancelling:  # the steps it cancelled go unsaid; failures before it do not
        failures = [f"step '{n}' failed" for n, state in failed if state == "FAILED"]
        return Progress("CANCELLED", "; ".join(["cancelled", *failures]), skip)
    if failed:
        return Progress("FAILED", "; ".join(f"step '{n}' {s.lower()}" for n, s in failed), skip)
    if all(name in runs and set(runs[name]) <= {"SUCCEEDED"} for name in steps):
        return Progress("SUCCEEDED")
    return Progress("RUNNING")  # steps are left to start
