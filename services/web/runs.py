"""/api/2.0/mlflow/runs/*: MLflow's run endpoints over TrackingService.

log-batch enforces MLflow's limits here, before anything is written:
1000 metrics, 100 params, 100 tags, 1000 items in all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.routing import Route

from switchyard.core.ids import now_ms
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk.rpcs import tracking as rpc
from switchyard.services.web import wire
from switchyard.services.web.backends import Backends
from switchyard.services.web.endpoints import Fields, number, route
from switchyard.services.web.experiments import tag_map

Reply = Mapping[str, Any]

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000


def run_id(f: Fields) -> str:
    """MLflow clients send `run_id`, older ones `run_uuid`."""
    value = f.text("run_id") or f.text("run_uuid")
    if not value:
        f.text("run_id", required=True)
    return value


async def create(f: Fields, b: Backends) -> Reply:
    tags = tag_map(f)
    req = pb.CreateRunRequest(
        experiment_id=f.text("experiment_id", default="0"),
        run_name=f.text("run_name"),
        start_time=f.integer("start_time"),
        tags=tags,
        parent_run_id=tags.get(wire.PARENT_RUN_TAG, ""),
        user_id=f.text("user_id"),
    )
    response = await b.call(rpc.CREATE_RUN, req)
    return {"run": wire.run(response.run, b.public_uri)}


async def get(f: Fields, b: Backends) -> Reply:
    response = await b.call(rpc.GET_RUN, pb.GetRunRequest(run_id=run_id(f)))
    return {"run": wire.run(response.run, b.public_uri)}


async def update(f: Fields, b: Backends) -> Reply:
    req = pb.UpdateRunRequest(run_id=run_id(f), run_name=f.text("run_name"))
    status = f.text("status")
    if status:
        req.status = wire.run_status(status)
    if f.get("end_time") is not None:
        req.end_time = f.integer("end_time")
    response = await b.call(rpc.UPDATE_RUN, req)
    return {"run_info": wire.run_info(response.run_info, b.public_uri)}


async def delete(f: Fields, b: Backends) -> Reply:
    await b.call(rpc.DELETE_RUN, pb.DeleteRunRequest(run_id=run_id(f)))
    return {}


async def restore(f: Fields, b: Backends) -> Reply:
    await b.call(rpc.RESTORE_RUN, pb.RestoreRunRequest(run_id=run_id(f)))
    return {}


async def log_metric(f: Fields, b: Backends) -> Reply:
    series = pb.MetricSeries(
        key=f.text("key", required=True),
        values=[f.double("value", required=True)],
        steps=[f.integer("step")],
        timestamps=[f.integer("timestamp", required=True)],
    )
    await b.call(rpc.LOG_BATCH, pb.LogBatchRequest(run_id=run_id(f), metrics=[series]))
    return {}


async def log_param(f: Fields, b: Backends) -> Reply:
    param = cpb.Tag(key=f.text("key", required=True), value=f.text("value"))
    await b.call(rpc.LOG_BATCH, pb.LogBatchRequest(run_id=run_id(f), params=[param]))
    return {}


async def set_tag(f: Fields, b: Backends) -> Reply:
    req = pb.SetTagRequest(
        run_id=run_id(f), key=f.text("key", required=True), value=f.text("value")
    )
    await b.call(rpc.SET_TAG, req)
    return {}


async def delete_tag(f: Fields, b: Backends) -> Reply:
    req = pb.DeleteTagRequest(run_id=run_id(f), key=f.text("key", required=True))
    await b.call(rpc.DELETE_TAG, req)
    return {}


def _limit(items: list[Any], limit: int, entity: str) -> None:
    if len(items) > limit:
        raise InvalidArgument(
            f"A batch logging request can contain at most {limit} {entity}. Got {len(items)}"
            f" {entity}. Please split up {entity} across multiple requests and try again.",
            field=entity,
        )


def metric_series(metrics: list[Any]) -> list[pb.MetricSeries]:
    """MLflow's metric objects, grouped by key into columnar series.

    The hot path of log-batch: plain dicts are read in place (no object per
    point); anything unusual goes through `Fields` for its typed errors.
    """
    columns: dict[str, tuple[list[float], list[int], list[int]]] = {}
    now = 0
    for i, m in enumerate(metrics):
        if not isinstance(m, dict):
            raise InvalidArgument(f"metrics[{i}] must be an object", field="metrics")
        key, value, timestamp, step = (
            m.get("key"),
            m.get("value"),
            m.get("timestamp"),
            m.get("step"),
        )
        if not (isinstance(key, str) and key):
            key = Fields(m).text("key", required=True)
        if type(value) is not float:
            if value is None:
                Fields(m).text("value", required=True)
            value = number(value, f"metrics[{i}].value")
        if type(timestamp) is not int:
            if timestamp is None:
                now = now or now_ms()
                timestamp = now
            else:
                timestamp = Fields(m).integer("timestamp")
        if type(step) is not int:
            step = Fields(m).integer("step")
        column = columns.get(key)
        if column is None:
            column = columns[key] = ([], [], [])
        column[0].append(value)
        column[1].append(step)
        column[2].append(timestamp)
    return [
        pb.MetricSeries(key=k, values=v, steps=s, timestamps=t) for k, (v, s, t) in columns.items()
    ]


async def log_batch(f: Fields, b: Backends) -> Reply:
    metrics, params, tags = f.items("metrics"), f.objects("params"), f.objects("tags")
    _limit(metrics, MAX_METRICS_PER_BATCH, "metrics")
    _limit(params, MAX_PARAMS_TAGS_PER_BATCH, "params")
    _limit(tags, MAX_PARAMS_TAGS_PER_BATCH, "tags")
    total = len(metrics) + len(params) + len(tags)
    if total > MAX_ENTITIES_PER_BATCH:
        raise InvalidArgument(
            f"A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} metrics,"
            f" params and tags in total. Got {total}.",
            field="metrics",
        )
    req = pb.LogBatchRequest(
        run_id=run_id(f),
        metrics=metric_series(metrics),
        params=[cpb.Tag(key=p.text("key", required=True), value=p.text("value")) for p in params],
        tags=[cpb.Tag(key=t.text("key", required=True), value=t.text("value")) for t in tags],
    )
    await b.call(rpc.LOG_BATCH, req)
    return {}


async def log_inputs(f: Fields, b: Backends) -> Reply:
    req = pb.LogInputsRequest(run_id=run_id(f))
    for item in f.objects("datasets"):
        d = item.object("dataset")
        added = req.dataset_inputs.add(tags=tag_map(item))
        added.dataset.CopyFrom(
            pb.Dataset(
                name=d.text("name", required=True),
                digest=d.text("digest", required=True),
                source_type=d.text("source_type"),
                source=d.text("source"),
                schema=d.text("schema"),
                profile=d.text("profile"),
            )
        )
    if req.dataset_inputs:
        await b.call(rpc.LOG_INPUTS, req)
    return {}


async def search(f: Fields, b: Backends) -> Reply:
    req = pb.SearchRunsRequest(
        experiment_ids=f.texts("experiment_ids"),
        filter=f.text("filter"),
        view_type=wire.view_type(f.text("run_view_type"), "run_view_type"),
        max_results=f.integer("max_results", default=1000),
        order_by=f.texts("order_by"),
        page_token=f.text("page_token"),
    )
    response = await b.call(rpc.SEARCH_RUNS, req)
    out: dict[str, Any] = {"runs": [wire.run(r, b.public_uri) for r in response.runs]}
    if response.next_page_token:
        out["next_page_token"] = response.next_page_token
    return out


ROUTES: list[Route] = [
    route("POST", "/runs/create", create),
    route("GET", "/runs/get", get),
    route("POST", "/runs/update", update),
    route("POST", "/runs/delete", delete),
    route("POST", "/runs/restore", restore),
    route("POST", "/runs/log-metric", log_metric),
    route("POST", "/runs/log-parameter", log_param),
    route("POST", "/runs/set-tag", set_tag),
    route("POST", "/runs/delete-tag", delete_tag),
    route("POST", "/runs/log-batch", log_batch),
    route("POST", "/runs/log-inputs", log_inputs),
    route("POST", "/runs/search", search),
]
