"""Protobuf <-> MLflow JSON: MLflow's field names, int64 as numbers, enums as names.

Only shapes live here; what each endpoint does with them is in its route
module. Artifact URIs under the platform's root are shown as
`mlflow-artifacts:/...` so the MLflow client uses the proxied artifact API.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import registry_pb2 as rpb
from switchyard.proto.v1 import tracking_pb2 as pb

Uri = Callable[[str], str]

STAGES = {cpb.LIFECYCLE_STAGE_ACTIVE: "active", cpb.LIFECYCLE_STAGE_DELETED: "deleted"}
VIEW_TYPES = {
    "ACTIVE_ONLY": cpb.VIEW_TYPE_ACTIVE_ONLY,
    "DELETED_ONLY": cpb.VIEW_TYPE_DELETED_ONLY,
    "ALL": cpb.VIEW_TYPE_ALL,
    "1": cpb.VIEW_TYPE_ACTIVE_ONLY,
    "2": cpb.VIEW_TYPE_DELETED_ONLY,
    "3": cpb.VIEW_TYPE_ALL,
}
PARENT_RUN_TAG = "mlflow.parentRunId"


def key_values(items: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def view_type(value: str, field: str) -> Any:
    if not value:
        return cpb.VIEW_TYPE_ACTIVE_ONLY
    try:
        return VIEW_TYPES[value.upper()]
    except KeyError:
        raise InvalidArgument(
            f"{field} '{value}' is not one of ACTIVE_ONLY, DELETED_ONLY, ALL", field=field
        ) from None


def run_status(value: str, field: str = "status") -> Any:
    if value.isdigit():
        number = int(value)
        if 1 <= number <= 5:
            return number
    elif value.upper() in ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"):
        return pb.RunStatus.Value(f"RUN_STATUS_{value.upper()}")
    raise InvalidArgument(
        f"{field} '{value}' is not one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED",
        field=field,
    )


def experiment(e: pb.Experiment, uri: Uri) -> dict[str, Any]:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": uri(e.artifact_location),
        "lifecycle_stage": STAGES.get(e.lifecycle_stage, "active"),
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
        "tags": key_values(e.tags),
    }


def run_info(i: pb.RunInfo, uri: Uri) -> dict[str, Any]:
    out: dict[str, Any] = {
        "run_id": i.run_id,
        "run_uuid": i.run_id,
        "run_name": i.run_name,
        "experiment_id": i.experiment_id,
        "user_id": i.user_id,
        "status": pb.RunStatus.Name(i.status).removeprefix("RUN_STATUS_"),
        "start_time": i.start_time,
        "artifact_uri": uri(i.artifact_uri),
        "lifecycle_stage": STAGES.get(i.lifecycle_stage, "active"),
    }
    if i.HasField("end_time"):
        out["end_time"] = i.end_time
    return out


def metric(m: pb.Metric) -> dict[str, Any]:
    return {"key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step}


def run(r: pb.Run, uri: Uri) -> dict[str, Any]:
    tags = dict(r.data.tags)
    if r.info.parent_run_id:
        tags.setdefault(PARENT_RUN_TAG, r.info.parent_run_id)
    return {
        "info": run_info(r.info, uri),
        "data": {
            "metrics": [metric(m) for m in r.data.metrics],
            "params": key_values(r.data.params),
            "tags": key_values(tags),
        },
        "inputs": {
            "dataset_inputs": [
                {
                    "tags": key_values(d.tags),
                    "dataset": {
                        "name": d.dataset.name,
                        "digest": d.dataset.digest,
                        "source_type": d.dataset.source_type,
                        "source": d.dataset.source,
                        "schema": d.dataset.schema,
                        "profile": d.dataset.profile,
                    },
                }
                for d in r.inputs.dataset_inputs
            ]
        },
    }


def _number(value: float) -> str:
    """A double as Python's json module writes it (NaN/Infinity tokens included)."""
    if value != value or value in (math.inf, -math.inf):
        return json.dumps(value)
    return repr(value)


def history_json(series: pb.MetricSeries, extra: Mapping[str, str] | None = None) -> bytes:
    """`{"metrics": [...]}` for a whole series, encoded without an object per point."""
    head = '{"key":' + json.dumps(series.key) + ',"value":'
    tail = "".join(f",{json.dumps(k)}:{json.dumps(v)}" for k, v in (extra or {}).items())
    points = [
        f'{head}{_number(v)},"timestamp":{t},"step":{s}{tail}}}'
        for v, s, t in zip(series.values, series.steps, series.timestamps, strict=True)
    ]
    return ('{"metrics":[' + ",".join(points) + "]").encode()


def history(series: pb.MetricSeries, run_id: str | None = None) -> Iterable[dict[str, Any]]:
    key = series.key
    if run_id is None:
        return (
            {"key": key, "value": v, "timestamp": t, "step": s}
            for v, s, t in zip(series.values, series.steps, series.timestamps, strict=True)
        )
    return (
        {"key": key, "value": v, "timestamp": t, "step": s, "run_id": run_id}
        for v, s, t in zip(series.values, series.steps, series.timestamps, strict=True)
    )


# ---- registry ---------------------------------------------------------------

MODEL_ID_TAG = "sy.logged_model_id"  # a version registered from models:/<model id>


def model_version(v: rpb.ModelVersion, uri: Uri) -> dict[str, Any]:
    tags = dict(v.tags)
    model_id = tags.pop(MODEL_ID_TAG, "")
    out: dict[str, Any] = {
        "name": v.name,
        "version": str(v.version),
        "creation_timestamp": v.creation_timestamp,
        "last_updated_timestamp": v.last_updated_timestamp,
        "current_stage": v.current_stage or "None",
        "description": v.description,
        "source": f"models:/{model_id}" if model_id else uri(v.source),
        "run_id": v.run_id,
        "status": v.status or "READY",
        "tags": key_values(tags),
        "aliases": list(v.aliases),
    }
    if model_id:
        out["model_id"] = model_id
    return out


def registered_model(m: rpb.RegisteredModel, uri: Uri) -> dict[str, Any]:
    return {
        "name": m.name,
        "creation_timestamp": m.creation_timestamp,
        "last_updated_timestamp": m.last_updated_timestamp,
        "description": m.description,
        "latest_versions": [model_version(v, uri) for v in m.latest_versions],
        "tags": key_values(m.tags),
        "aliases": [{"alias": a, "version": str(n)} for a, n in sorted(m.aliases.items())],
    }
