"""Input rules for tracking, as MLflow enforces them, checked before any write.

The checks every service shares (keys, text, names, run ids, page sizes)
live in `switchyard.core.validation`; these are MLflow's tracking limits
and entities. Every failure names its field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

from switchyard.core import validation as check
from switchyard.errors import InvalidArgument, NotFound
from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import tracking_pb2 as pb

MAX_KEY = check.MAX_KEY
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_NAME = 500
MAX_SEARCH_RESULTS = 50_000
DEFAULT_SEARCH_RESULTS = 1000
RUN_NAME_TAG = "mlflow.runName"

# Shared checks the servicer calls through this module.
key = check.key
run_id = check.run_id
text = check.text


def name(value: str, field: str) -> str:
    return check.name(value, field, MAX_NAME)


def experiment_id(value: str, field: str = "experiment_id") -> int:
    if not value.isdigit() or len(value) > 18:
        raise NotFound(f"experiment '{value}' not found", entity="experiment")
    return int(value)


def params(items: Iterable[cpb.Tag] | Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in _pairs(items):
        check.key(k, "params.key")
        check.text(v, f"params[{k}].value", MAX_PARAM_VALUE)
        if k in out and out[k] != v:
            raise InvalidArgument(f"param '{k}' given twice with different values", field="params")
        out[k] = v
    return out


def tags(items: Iterable[cpb.Tag] | Mapping[str, str], field: str = "tags") -> dict[str, str]:
    out = check.tags(_pairs(items), field, MAX_TAG_VALUE)
    if len(out.get(RUN_NAME_TAG, "")) > MAX_NAME:  # the tag renames the run
        raise InvalidArgument(
            f"{field}[{RUN_NAME_TAG}] is the run name: at most {MAX_NAME} characters",
            field=field,
        )
    return out


def series(items: Iterable[pb.MetricSeries]) -> list[pb.MetricSeries]:
    out = list(items)
    for s in out:
        check.key(s.key, "metrics.key")
        n = len(s.values)
        if len(s.steps) not in (0, n) or len(s.timestamps) not in (0, n):
            raise InvalidArgument(
                f"metric '{s.key}': values, steps and timestamps must have equal lengths"
                f" (got {n}, {len(s.steps)}, {len(s.timestamps)})",
                field="metrics",
            )
    return out


def max_results(value: int, default: int = DEFAULT_SEARCH_RESULTS) -> int:
    return check.max_results(value, MAX_SEARCH_RESULTS, default)


def _pairs(items: Iterable[cpb.Tag] | Mapping[str, str]) -> Iterable[tuple[str, str]]:
    if isinstance(items, Mapping):
        return items.items()
    return ((t.key, t.value) for t in cast(Iterable[cpb.Tag], items))
