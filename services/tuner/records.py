"""Rows of the tuner's tables as protobuf entities and domain records.

The store reads rows; these functions turn them into what the servicer
returns (`Study`, `Trial`) and what the optimizer is rebuilt from
(`TrialRecord`). The Pareto front of a multi-objective study is computed
here, from its completed trials.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.services.tuner.optimizer import TrialRecord
from switchyard.services.tuner.space import encode

STUDY_STATES = {
    "RUNNING": pb.STUDY_RUNNING,
    "COMPLETED": pb.STUDY_COMPLETED,
    "FAILED": pb.STUDY_FAILED,
    "STOPPED": pb.STUDY_STOPPED,
}
TRIAL_STATES = {
    "RUNNING": pb.TRIAL_RUNNING,
    "COMPLETED": pb.TRIAL_COMPLETED,
    "PRUNED": pb.TRIAL_PRUNED,
    "FAILED": pb.TRIAL_FAILED,
}
STUDY_NAMES = {v: k for k, v in STUDY_STATES.items()}
TRIAL_NAMES = {v: k for k, v in TRIAL_STATES.items()}

TRIAL_COLUMNS = (
    'study_id, number, state, params, "values", run_id, job_id, message,'
    " last_step, last_value, started_ms, finished_ms"
)
STUDY_COLUMNS = (
    "study_id, name, spec, state, message, run_id, experiment_id, best_number,"
    " created_ms, finished_ms"
)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def params(row: Mapping[str, Any]) -> dict[str, Any]:
    return dict(_json(row["params"]))


def trial(row: Mapping[str, Any]) -> pb.Trial:
    return pb.Trial(
        study_id=row["study_id"].hex,
        number=row["number"],
        state=TRIAL_STATES[row["state"]],
        params={k: encode(v) for k, v in params(row).items()},
        values=row["values"],
        last_step=row["last_step"],
        last_value=row["last_value"],
        run_id=row["run_id"],
        job_id=row["job_id"],
        message=row["message"],
        started_ms=row["started_ms"],
        finished_ms=row["finished_ms"],
    )


def trial_record(row: Mapping[str, Any], steps: Mapping[int, float]) -> TrialRecord:
    return TrialRecord(
        number=row["number"],
        state=TRIAL_STATES[row["state"]],
        params=params(row),
        values=tuple(row["values"]),
        intermediate=dict(steps),
        system_attrs=dict(_json(row["system_attrs"])),
    )


def study(row: Mapping[str, Any], counts: Mapping[str, int], best: pb.Trial | None) -> pb.Study:
    s = pb.Study(
        study_id=row["study_id"].hex,
        spec=pb.StudySpec.FromString(row["spec"]),
        state=STUDY_STATES[row["state"]],
        message=row["message"],
        run_id=row["run_id"],
        experiment_id=row["experiment_id"],
        created_ms=row["created_ms"],
        finished_ms=row["finished_ms"],
        trials_running=counts.get("RUNNING", 0),
        trials_completed=counts.get("COMPLETED", 0),
        trials_pruned=counts.get("PRUNED", 0),
        trials_failed=counts.get("FAILED", 0),
    )
    if best is not None:
        s.best_trial.CopyFrom(best)
    return s


def pareto_front(completed: Sequence[pb.Trial], maximize: Sequence[bool]) -> list[pb.Trial]:
    """The completed trials that no other completed trial dominates, by number."""
    signs = [-1.0 if m else 1.0 for m in maximize]

    def key(t: pb.Trial) -> list[float]:
        return [s * v for s, v in zip(signs, t.values, strict=True)]

    keyed = [(key(t), t) for t in completed if len(t.values) == len(signs)]

    def dominated(a: list[float]) -> bool:
        return any(all(x <= y for x, y in zip(b, a, strict=True)) and b != a for b, _ in keyed)

    return sorted((t for k, t in keyed if not dominated(k)), key=lambda t: t.number)
