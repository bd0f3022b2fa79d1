"""/api/2.0/mlflow/metrics/*: a metric's history, paged, and server-side sampled."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.routing import Route

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk.rpcs import tracking as rpc
from switchyard.services.web import wire
from switchyard.services.web.backends import Backends
from switchyard.services.web.endpoints import Encoded, Fields, route
from switchyard.services.web.runs import run_id

Reply = Mapping[str, Any]

MAX_HISTORY_PAGE = 100_000
MAX_RUNS_BULK = 100
MAX_RESULTS_PER_RUN = 2500


async def get_history(f: Fields, b: Backends) -> Reply:
    page = f.integer("max_results", default=MAX_HISTORY_PAGE)
    if page < 0:
        raise InvalidArgument("max_results must not be negative", field="max_results")
    req = pb.GetMetricHistoryRequest(
        run_id=run_id(f),
        key=f.text("metric_key", required=True),
        page_size=min(page, MAX_HISTORY_PAGE),
        page_token=f.text("page_token"),
    )
    response = await b.call(rpc.GET_METRIC_HISTORY, req)
    body = wire.history_json(response.history)  # '{"metrics":[...]', left open
    if response.next_page_token:
        body += b',"next_page_token":' + json.dumps(response.next_page_token).encode()
    return Encoded(body + b"}")


async def get_history_bulk_interval(f: Fields, b: Backends) -> Reply:
    run_ids = f.texts("run_ids")
    if not run_ids:
        f.text("run_ids", required=True)
    if len(run_ids) > MAX_RUNS_BULK:
        raise InvalidArgument(
            f"GetMetricHistoryBulkInterval request must specify at most {MAX_RUNS_BULK} run_ids."
            f" Received {len(run_ids)} run_ids.",
            field="run_ids",
        )
    key = f.text("metric_key", required=True)
    points = f.integer("max_results", default=MAX_RESULTS_PER_RUN)
    if not 1 <= points <= MAX_RESULTS_PER_RUN:
        raise InvalidArgument(
            f"max_results must be between 1 and {MAX_RESULTS_PER_RUN}", field="max_results"
        )
    start = f.integer("start_step") if f.get("start_step") is not None else None
    end = f.integer("end_step") if f.get("end_step") is not None else None
    if (start is None) != (end is None) or (start is not None and end is not None and start > end):
        raise InvalidArgument(
            "start_step and end_step must be given together, start_step <= end_step",
            field="start_step",
        )
    metrics: list[dict[str, Any]] = []
    for rid in run_ids:
        req = pb.GetMetricHistoryRequest(run_id=rid, key=key, max_points=points)
        response = await b.call(rpc.GET_METRIC_HISTORY, req)
        metrics.extend(
            m
            for m in wire.history(response.history, rid)
            if start is None or end is None or start <= m["step"] <= end
        )
    metrics.sort(key=lambda m: (m["run_id"], m["step"], m["timestamp"]))
    return {"metrics": metrics}


ROUTES: list[Route] = [
    route("GET", "/metrics/get-history", get_history),
    route("GET", "/metrics/get-history-bulk-interval", get_history_bulk_interval),
]
