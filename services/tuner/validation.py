"""Input rules for studies, checked before any write; each failure names its field.

`study_spec` returns the spec with its defaults filled in (the form the store
keeps) and `space` the `Space` its params describe; a stored spec passed
validation once, so `space` rebuilds it without failing.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import uuid

from switchyard.core.ids import parse_hex_id
from switchyard.errors import FailedPrecondition, InvalidArgument
from switchyard.proto.v1 import scheduler_pb2 as spb
from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.services.tuner.space import Dimension, Space, Value

ALGORITHMS = ("random", "grid", "tpe", "cmaes", "qmc", "nsga2")
RULES = ("", "median", "asha", "hyperband")
MULTI_OBJECTIVE = ("random", "grid", "tpe", "qmc", "nsga2")
MAX_NAME = 200
MAX_PARAMS = 200
MAX_TRIALS = 100_000
MAX_PARALLEL = 1000
FUNCTION_RUNNER = "switchyard.sdk.tuner._runner"  # the module `python -m` runs
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_METRIC = re.compile(r"^[/\w.\- :]+$")


def study_id(value: str, field: str = "study_id") -> uuid.UUID:
    parsed = parse_hex_id(value)
    if parsed is None:
        raise InvalidArgument(
            f"{field} '{value}' is not a study id (32 hex characters)", field=field
        )
    return parsed


def name(value: str, field: str = "name") -> str:
    if len(value) > MAX_NAME or not _NAME.fullmatch(value):
        raise InvalidArgument(
            f"{field} '{value}' must be 1-{MAX_NAME} letters, digits, '_', '.' or '-'",
            field=field,
        )
    return value


def _finite(value: float, field: str) -> None:
    if math.isnan(value) or math.isinf(value):
        raise InvalidArgument(f"{field} must be a finite number (got {value})", field=field)


def _choice(text: str, field: str) -> Value:
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidArgument(
            f"{field}: choice {text!r} is not JSON (quote strings: '\"adam\"')", field=field
        ) from None
    if value is not None and not isinstance(value, bool | int | float | str):
        raise InvalidArgument(f"{field}: choice {text!r} is not a JSON scalar", field=field)
    return value  # type: ignore[no-any-return]


def _range(p: pb.Param, field: str) -> Dimension:
    r = p.float if p.WhichOneof("kind") == "float" else p.int
    kind = "float" if p.WhichOneof("kind") == "float" else "int"
    low, high, step = float(r.low), float(r.high), float(r.step)
    _finite(low, f"{field}.low")
    _finite(high, f"{field}.high")
    _finite(step, f"{field}.step")
    if low >= high:
        raise InvalidArgument(
            f"parameter '{p.name}': low ({r.low}) must be less than high ({r.high})",
            field=f"{field}.low",
        )
    if r.log and low <= 0:
        raise InvalidArgument(
            f"parameter '{p.name}': a log scale needs low > 0 (got {r.low})", field=f"{field}.low"
        )
    if step < 0:
        raise InvalidArgument(f"parameter '{p.name}': step must be >= 0", field=f"{field}.step")
    if kind == "int" and step == 1:
        step = 0
    if step and r.log:
        raise InvalidArgument(
            f"parameter '{p.name}': a log scale cannot have a step", field=f"{field}.step"
        )
    if step:
        count = (high - low) / step
        if abs(count - round(count)) > 1e-9 * max(1.0, count):
            raise InvalidArgument(
                f"parameter '{p.name}': high - low must be a multiple of step {r.step}",
                field=f"{field}.step",
            )
    return Dimension(p.name, kind, low, high, r.log, step or None)


def space(params: list[pb.Param] | tuple[pb.Param, ...]) -> Space:
    if not params:
        raise InvalidArgument("the search space has no parameters", field="params")
    if len(params) > MAX_PARAMS:
        raise InvalidArgument(f"at most {MAX_PARAMS} parameters", field="params")
    dims: dict[str, Dimension] = {}
    for i, p in enumerate(params):
        field = f"params[{i}]"
        if not _PARAM.fullmatch(p.name):
            raise InvalidArgument(
                f"{field}: parameter name '{p.name}' must be a Python identifier",
                field=f"{field}.name",
            )
        if p.name in dims:
            raise InvalidArgument(f"parameter '{p.name}' is given twice", field=f"{field}.name")
        field = f"params.{p.name}"
        kind = p.WhichOneof("kind")
        if kind is None:
            raise InvalidArgument(
                f"parameter '{p.name}' has no range or choices", field=f"{field}.kind"
            )
        if kind == "categorical":
            if not p.categorical.choices:
                raise InvalidArgument(
                    f"parameter '{p.name}' has no choices", field=f"{field}.choices"
                )
            choices = tuple(_choice(c, f"{field}.choices") for c in p.categorical.choices)
            if len(set(map(json.dumps, choices))) != len(choices):
                raise InvalidArgument(
                    f"parameter '{p.name}' repeats a choice", field=f"{field}.choices"
                )
            dim = Dimension(p.name, "categorical", choices=choices)
        else:
            dim = _range(p, field)
        if p.parent:
            parent = dims.get(p.parent)
            if parent is None or parent.kind != "categorical":
                raise InvalidArgument(
                    f"parameter '{p.name}': parent '{p.parent}' must be a categorical"
                    " parameter declared before it",
                    field=f"{field}.parent",
                )
            when = _choice(p.when, f"{field}.when")
            if when not in parent.choices:
                raise InvalidArgument(
                    f"parameter '{p.name}': {p.when} is not a choice of '{p.parent}'",
                    field=f"{field}.when",
                )
            dim = Dimension(
                dim.name,
                dim.kind,
                dim.low,
                dim.high,
                dim.log,
                dim.step,
                dim.choices,
                p.parent,
                when,
            )
        dims[p.name] = dim
    return Space(tuple(dims.values()))


def _objectives(spec: pb.StudySpec) -> None:
    if not spec.objectives:
        raise InvalidArgument(
            "a study needs an objective (a metric to optimize)", field="objectives"
        )
    seen = set()
    for i, o in enumerate(spec.objectives):
        if not o.metric or not _METRIC.fullmatch(o.metric):
            raise InvalidArgument(
                f"objective metric '{o.metric}' is not a metric key",
                field=f"objectives[{i}].metric",
            )
        if o.metric in seen:
            raise InvalidArgument(
                f"metric '{o.metric}' is given twice", field=f"objectives[{i}].metric"
            )
        seen.add(o.metric)


def _early_stopping(spec: pb.StudySpec) -> None:
    e = spec.early_stopping
    if e.rule not in RULES:
        raise InvalidArgument(
            f"unknown early-stopping rule '{e.rule}'; one of: median, asha, hyperband",
            field="early_stopping.rule",
        )
    for knob in ("warmup_steps", "startup_trials", "min_resource", "max_resource"):
        if getattr(e, knob) < 0:
            raise InvalidArgument(f"{knob} must be >= 0", field=f"early_stopping.{knob}")
    if e.reduction_factor == 1 or e.reduction_factor < 0:
        raise InvalidArgument(
            "reduction_factor must be >= 2", field="early_stopping.reduction_factor"
        )
    if e.rule and len(spec.objectives) > 1:
        raise InvalidArgument(
            "early stopping needs a single objective", field="early_stopping.rule"
        )


def _trial(spec: pb.StudySpec) -> None:
    t = spec.trial
    if not t.command:
        raise InvalidArgument("the trial template needs a command", field="trial.command")
    if t.experiment:
        raise InvalidArgument(
            "the trial template's experiment must be empty: the tuner makes each trial's"
            " run (set the study's experiment)",
            field="trial.experiment",
        )
    if t.gang_size > 1:
        raise InvalidArgument("trials are single processes (gang_size 1)", field="trial.gang_size")
    if spec.reuse_processes and FUNCTION_RUNNER not in t.command:
        # A command runs one trial per process; only the function runner asks for more.
        raise InvalidArgument(
            "reuse_processes needs a Python function objective (sy.tune(fn, ...)), not a command",
            field="reuse_processes",
        )


def study_spec(raw: pb.StudySpec) -> tuple[pb.StudySpec, Space]:
    """A copy of the spec with defaults filled in, and its space; or InvalidArgument."""
    spec = pb.StudySpec()
    spec.CopyFrom(raw)
    if spec.name:
        name(spec.name)
    found = space(list(spec.params))
    _objectives(spec)
    spec.algorithm = spec.algorithm or "tpe"
    if spec.algorithm not in ALGORITHMS:
        raise InvalidArgument(
            f"unknown algorithm '{spec.algorithm}'; one of: {', '.join(ALGORITHMS)}",
            field="algorithm",
        )
    if spec.algorithm == "cmaes" and importlib.util.find_spec("cmaes") is None:
        raise FailedPrecondition(
            "algorithm 'cmaes' needs the cmaes package beside the tuner", field="algorithm"
        )
    if len(spec.objectives) > 1 and spec.algorithm not in MULTI_OBJECTIVE:
        raise InvalidArgument(
            f"algorithm '{spec.algorithm}' optimizes one objective", field="algorithm"
        )
    if spec.algorithm == "grid":
        if found.conditional:
            raise InvalidArgument("grid search takes no conditional parameters", field="params")
        for d in found.dimensions:
            if d.kind == "float" and d.step is None:
                raise InvalidArgument(
                    f"grid search needs a step for float parameter '{d.name}'",
                    field=f"params.{d.name}.step",
                )
    _early_stopping(spec)
    _trial(spec)
    if not 1 <= spec.parallel <= MAX_PARALLEL:
        raise InvalidArgument(
            f"parallel must be 1..{MAX_PARALLEL} (got {spec.parallel})", field="parallel"
        )
    if not 1 <= spec.max_trials <= MAX_TRIALS:
        raise InvalidArgument(
            f"max_trials must be 1..{MAX_TRIALS} (got {spec.max_trials})", field="max_trials"
        )
    if spec.max_failed_trials < 0:
        raise InvalidArgument("max_failed_trials must be >= 0", field="max_failed_trials")
    spec.max_failed_trials = spec.max_failed_trials or spec.max_trials
    _finite(spec.time_budget_s, "time_budget_s")
    if spec.time_budget_s < 0:
        raise InvalidArgument("time_budget_s must be >= 0", field="time_budget_s")
    if not spec.experiment:
        spec.experiment = "Default"
    _trial_defaults(spec.trial)
    return spec, found


def _trial_defaults(t: spb.JobSpec) -> None:
    t.pool = t.pool or "default"
    t.queue = t.queue or "default"
    if not t.HasField("resources"):
        t.resources.cpus = 1.0
