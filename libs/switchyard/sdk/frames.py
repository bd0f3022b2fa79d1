"""Runs as a pandas DataFrame, with the columns `mlflow.search_runs` gives.

    run_id, experiment_id, status, artifact_uri, start_time, end_time (UTC
    timestamps), then metrics.<key> (NaN where a run lacks it), params.<key>
    and tags.<key> (None where a run lacks them), keys in order of first sight.

pandas is imported only here, when a frame is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from switchyard.errors import FailedPrecondition
from switchyard.sdk.entities import Run

if TYPE_CHECKING:
    import pandas


def pandas_module() -> Any:
    try:
        import pandas
    except ImportError:
        raise FailedPrecondition(
            "search_runs returns a pandas DataFrame: pip install pandas"
        ) from None
    return pandas


def runs_frame(runs: Sequence[Run]) -> pandas.DataFrame:
    pd = pandas_module()
    infos = [r.info for r in runs]
    data: dict[str, Any] = {
        "run_id": [i.run_id for i in infos],
        "experiment_id": [i.experiment_id for i in infos],
        "status": [i.status for i in infos],
        "artifact_uri": [i.artifact_uri for i in infos],
        "start_time": pd.to_datetime([i.start_time for i in infos], unit="ms", utc=True),
        "end_time": pd.to_datetime([i.end_time for i in infos], unit="ms", utc=True),
    }
    for prefix, missing in (("metrics", float("nan")), ("params", None), ("tags", None)):
        values = [getattr(r.data, prefix) for r in runs]
        for key in dict.fromkeys(k for v in values for k in v):
            data[f"{prefix}.{key}"] = [v.get(key, missing) for v in values]
    return pd.DataFrame(data)
