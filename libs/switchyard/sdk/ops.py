"""Each tracking call once: the RPC it makes, its request, how to read the reply.

`Client` and `AsyncClient` only differ in how they send an `Op` (through
their transport), so the mapping from MLflow-style arguments to protobuf
lives here, written once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from switchyard.core.ids import now_ms
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk.arguments import checked, pairs
from switchyard.sdk.entities import (
    Experiment,
    Metric,
    PagedList,
    Run,
    RunInfo,
    status_value,
)
from switchyard.sdk.rpcs import Op, none
from switchyard.sdk.rpcs import tracking as rpc

VIEW_TYPES: dict[str, Any] = {
    "active_only": cpb.VIEW_TYPE_ACTIVE_ONLY,
    "deleted_only": cpb.VIEW_TYPE_DELETED_ONLY,
    "all": cpb.VIEW_TYPE_ALL,
}


def _view(view_type: str | int, field: str) -> Any:
    if isinstance(view_type, int) and view_type in VIEW_TYPES.values():
        return view_type
    found = VIEW_TYPES.get(str(view_type).lower().replace("viewtype.", ""))
    if found is None:
        raise InvalidArgument(
            f"{field} must be one of {', '.join(VIEW_TYPES)}, got {view_type!r}", field=field
        )
    return found


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    return dict(pairs(tags, "tags"))


@checked
def create_experiment(
    name: str, artifact_location: str | None, tags: Mapping[str, Any] | None
) -> Op[str]:
    req = pb.CreateExperimentRequest(
        name=name, artifact_location=artifact_location or "", tags=_tags(tags)
    )
    return Op(rpc.CREATE_EXPERIMENT, req, lambda r: r.experiment.experiment_id)


@checked
def get_experiment(experiment_id: str) -> Op[Experiment]:
    req = pb.GetExperimentRequest(experiment_id=str(experiment_id))
    return Op(rpc.GET_EXPERIMENT, req, lambda r: Experiment.from_proto(r.experiment))


@checked
def get_experiment_by_name(name: str) -> Op[Experiment]:
    req = pb.GetExperimentByNameRequest(name=name)
    return Op(rpc.GET_EXPERIMENT_BY_NAME, req, lambda r: Experiment.from_proto(r.experiment))


@checked
def search_experiments(
    view_type: str | int,
    max_results: int,
    filter_string: str,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> Op[PagedList[Experiment]]:
    req = pb.SearchExperimentsRequest(
        filter=filter_string or "",
        view_type=_view(view_type, "view_type"),
        max_results=max_results,
        order_by=list(order_by or []),
        page_token=page_token or "",
    )
    return Op(
        rpc.SEARCH_EXPERIMENTS,
        req,
        lambda r: PagedList([Experiment.from_proto(e) for e in r.experiments], r.next_page_token),
    )


@checked
def rename_experiment(experiment_id: str, new_name: str) -> Op[None]:
    req = pb.UpdateExperimentRequest(experiment_id=str(experiment_id), new_name=new_name)
    return Op(rpc.UPDATE_EXPERIMENT, req, none)


@checked
def delete_experiment(experiment_id: str) -> Op[None]:
    return Op(
        rpc.DELETE_EXPERIMENT, pb.DeleteExperimentRequest(experiment_id=str(experiment_id)), none
    )


@checked
def restore_experiment(experiment_id: str) -> Op[None]:
    return Op(
        rpc.RESTORE_EXPERIMENT, pb.RestoreExperimentRequest(experiment_id=str(experiment_id)), none
    )


@checked
def set_experiment_tag(experiment_id: str, key: str, value: Any) -> Op[None]:
    req = pb.SetExperimentTagRequest(experiment_id=str(experiment_id), key=key, value=str(value))
    return Op(rpc.SET_EXPERIMENT_TAG, req, none)


@checked
def create_run(
    experiment_id: str | None,
    start_time: int | None,
    tags: Mapping[str, Any] | None,
    run_name: str | None,
    parent_run_id: str | None = None,
    user_id: str = "",
) -> Op[Run]:
    req = pb.CreateRunRequest(
        experiment_id=str(experiment_id or "0"),
        start_time=start_time or 0,
        tags=_tags(tags),
        run_name=run_name or "",
        parent_run_id=parent_run_id or "",
        user_id=user_id,
    )
    return Op(rpc.CREATE_RUN, req, lambda r: Run.from_proto(r.run))


@checked
def get_run(run_id: str) -> Op[Run]:
    return Op(rpc.GET_RUN, pb.GetRunRequest(run_id=run_id), lambda r: Run.from_proto(r.run))


@checked
def update_run(
    run_id: str, status: str | None, end_time: int | None, name: str | None
) -> Op[RunInfo]:
    req = pb.UpdateRunRequest(run_id=run_id, run_name=name or "")
    if status:
        req.status = status_value(status)  # type: ignore[assignment]
    if end_time is not None:
        req.end_time = end_time
    return Op(rpc.UPDATE_RUN, req, lambda r: RunInfo.from_proto(r.run_info))


def set_terminated(run_id: str, status: str | None, end_time: int | None) -> Op[RunInfo]:
    return update_run(run_id, status or "FINISHED", end_time or now_ms(), None)


@checked
def delete_run(run_id: str) -> Op[None]:
    return Op(rpc.DELETE_RUN, pb.DeleteRunRequest(run_id=run_id), none)


@checked
def restore_run(run_id: str) -> Op[None]:
    return Op(rpc.RESTORE_RUN, pb.RestoreRunRequest(run_id=run_id), none)


@checked
def set_tag(run_id: str, key: str, value: Any) -> Op[None]:
    return Op(rpc.SET_TAG, pb.SetTagRequest(run_id=run_id, key=key, value=str(value)), none)


@checked
def delete_tag(run_id: str, key: str) -> Op[None]:
    return Op(rpc.DELETE_TAG, pb.DeleteTagRequest(run_id=run_id, key=key), none)


def series_from_metrics(metrics: Iterable[Metric]) -> list[pb.MetricSeries]:
    """Group Metric objects by key into columnar series."""
    by_key: dict[str, pb.MetricSeries] = {}
    for m in metrics:
        s = by_key.get(m.key)
        if s is None:
            s = by_key[m.key] = pb.MetricSeries(key=m.key)
        s.values.append(float(m.value))
        s.steps.append(int(m.step or 0))
        s.timestamps.append(int(m.timestamp or now_ms()))
    return list(by_key.values())


@checked
def log_batch(
    run_id: str,
    metrics: Iterable[Metric] = (),
    params: Mapping[str, Any] | Iterable[Any] | None = None,
    tags: Mapping[str, Any] | Iterable[Any] | None = None,
) -> Op[None]:
    req = pb.LogBatchRequest(
        run_id=run_id,
        metrics=series_from_metrics(metrics),
        params=[cpb.Tag(key=k, value=v) for k, v in pairs(params, "params")],
        tags=[cpb.Tag(key=k, value=v) for k, v in pairs(tags, "tags")],
    )
    return Op(rpc.LOG_BATCH, req, none)


def _dataset(d: Any) -> tuple[pb.Dataset, dict[str, str]]:
    """A DatasetInput (or a bare dataset) as sy's, MLflow's or any with those fields."""
    dataset = getattr(d, "dataset", d)
    if not (hasattr(dataset, "name") and hasattr(dataset, "digest")):
        raise InvalidArgument(
            f"{type(d).__name__} is not a dataset: it needs .name and .digest", field="datasets"
        )
    proto = pb.Dataset(
        name=dataset.name,
        digest=dataset.digest,
        source_type=getattr(dataset, "source_type", ""),
        source=getattr(dataset, "source", ""),
        schema=getattr(dataset, "schema", "") or "",
        profile=getattr(dataset, "profile", "") or "",
    )
    return proto, dict(pairs(getattr(d, "tags", None), "tags"))


@checked
def log_inputs(run_id: str, datasets: Sequence[Any]) -> Op[None]:
    req = pb.LogInputsRequest(run_id=run_id)
    for d in datasets:
        dataset, tags = _dataset(d)
        req.dataset_inputs.add(tags=tags).dataset.CopyFrom(dataset)
    return Op(rpc.LOG_INPUTS, req, none)


@checked
def search_runs(
    experiment_ids: Sequence[str] | str,
    filter_string: str,
    run_view_type: str | int,
    max_results: int,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> Op[PagedList[Run]]:
    ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
    req = pb.SearchRunsRequest(
        experiment_ids=[str(i) for i in ids],
        filter=filter_string or "",
        view_type=_view(run_view_type, "run_view_type"),
        max_results=max_results,
        order_by=list(order_by or []),
        page_token=page_token or "",
    )
    return Op(
        rpc.SEARCH_RUNS,
        req,
        lambda r: PagedList([Run.from_proto(x) for x in r.runs], r.next_page_token),
    )


@checked
def metric_history_page(
    run_id: str,
    key: str,
    max_points: int | None,
    page_token: str = "",
    steps: tuple[int | None, int | None] = (None, None),
) -> Op[tuple[pb.MetricSeries, str]]:
    req = pb.GetMetricHistoryRequest(
        run_id=run_id, key=key, max_points=max_points or 0, page_token=page_token
    )
    if steps[0] is not None:
        req.min_step = steps[0]
    if steps[1] is not None:
        req.max_step = steps[1]
    return Op(rpc.GET_METRIC_HISTORY, req, lambda r: (r.history, r.next_page_token))
