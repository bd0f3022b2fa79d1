"""Input rules for tracking, as MLflow enforces them, checked before any write.

Every failure is an `InvalidArgument` naming the field, so a bad request
changes nothing and the caller learns exactly what to fix.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping

from switchyard.core.ids import parse_hex_id
from switchyard.errors import InvalidArgument, NotFound
from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import tracking_pb2 as pb

MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_NAME = 500
MAX_SEARCH_RESULTS = 50_000
RUN_NAME_TAG = "mlflow.runName"
# MLflow's rule: letters, digits, underscores, dashes, periods, spaces, slashes, colons.
_KEY = re.compile(r"^[/\w.\- :]+$")


def key(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument(f"{field} must not be empty", field=field)
    if len(value) > MAX_KEY:
        raise InvalidArgument(
            f"{field} '{value[:40]}...' exceeds {MAX_KEY} characters", field=field
        )
    if not _KEY.fullmatch(value) or ".." in value.split("/") or value.startswith("/"):
        raise InvalidArgument(
            f"{field} '{value}' may only contain letters, digits, '_', '-', '.', ' ', ':' and '/'"
            " and must be a relative path",
            field=field,
        )
    return value


def text(value: str, field: str, limit: int) -> str:
    if len(value) > limit:
        raise InvalidArgument(f"{field} exceeds {limit} characters (got {len(value)})", field=field)
    return value


def name(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidArgument(f"{field} must not be empty", field=field)
    return text(value, field, MAX_NAME)


def run_id(value: str, field: str = "run_id") -> uuid.UUID:
    if not value:
        raise InvalidArgument(f"{field} must be set", field=field)
    parsed = parse_hex_id(value)
    if parsed is None:
        # No run can have this id: answer as a lookup would.
        raise NotFound(f"run '{value}' not found ({field} must be 32 hex characters)", entity="run")
    return parsed


def experiment_id(value: str, field: str = "experiment_id") -> int:
    if not value.isdigit() or len(value) > 18:
        raise NotFound(f"experiment '{value}' not found", entity="experiment")
    return int(value)


def params(items: Iterable[cpb.Tag] | Mapping[str, str]) -> dict[str, str]:
    pairs = items.items() if isinstance(items, Mapping) else ((p.key, p.value) for p in items)
    out: dict[str, str] = {}
    for k, v in pairs:
        key(k, "params.key")
        text(v, f"params[{k}].value", MAX_PARAM_VALUE)
        if k in out and out[k] != v:
            raise InvalidArgument(f"param '{k}' given twice with different values", field="params")
        out[k] = v
    return out


def tags(items: Iterable[cpb.Tag] | Mapping[str, str], field: str = "tags") -> dict[str, str]:
    pairs = items.items() if isinstance(items, Mapping) else ((t.key, t.value) for t in items)
    out: dict[str, str] = {}
    for k, v in pairs:
        key(k, f"{field}.key")
        out[k] = text(v, f"{field}[{k}].value", MAX_TAG_VALUE)
    if len(out.get(RUN_NAME_TAG, "")) > MAX_NAME:  # the tag renames the run
        raise InvalidArgument(
            f"{field}[{RUN_NAME_TAG}] is the run name: at most {MAX_NAME} characters",
            field=field,
        )
    return out


def series(items: Iterable[pb.MetricSeries]) -> list[pb.MetricSeries]:
    out = list(items)
    for s in out:
        key(s.key, "metrics.key")
        n = len(s.values)
        if len(s.steps) not in (0, n) or len(s.timestamps) not in (0, n):
            raise InvalidArgument(
                f"metric '{s.key}': values, steps and timestamps must have equal lengths"
                f" (got {n}, {len(s.steps)}, {len(s.timestamps)})",
                field="metrics",
            )
    return out


def max_results(value: int, default: int = 1000) -> int:
    if value < 0 or value > MAX_SEARCH_RESULTS:
        raise InvalidArgument(
            f"max_results must be between 1 and {MAX_SEARCH_RESULTS} (got {value})",
            field="max_results",
        )
    return value or default
