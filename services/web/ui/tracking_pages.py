"""Experiments, runs, a run, and runs side by side.

    /experiments                              experiments, with a name filter
    /experiments/<id>                         its runs: MLflow filter, sort, columns, paging
    /experiments/<id>/runs/<run id>           a run: params, metrics (charts), tags, inputs
    /runs/<run id>                            redirects to the run's page
    /compare?runs=<id>&runs=<id>...           overlaid charts, parallel coordinates, params diff
    /ui/api/runs/<run id>/metrics?key=K       a metric's history for a chart, downsampled

The MLflow client prints `<uri>/#/experiments/<id>/runs/<run id>`: the
fragment never reaches a server, so `/` sends such links on in the page's
script (static/app.js), to these paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from switchyard.errors import InvalidArgument, NotFound
from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk.rpcs import tracking as rpc
from switchyard.services.web.backends import Backends
from switchyard.services.web.ui.render import backends, html_errors, page

PAGE_SIZES = (25, 50, 100, 250, 1000)
DEFAULT_COLUMNS = 5  # metrics and params each, when the page names none
CHART_POINTS = 1000  # what a chart asks for: the history downsampled to this many
STATUS = {
    pb.RUN_STATUS_RUNNING: "RUNNING",
    pb.RUN_STATUS_SCHEDULED: "SCHEDULED",
    pb.RUN_STATUS_FINISHED: "FINISHED",
    pb.RUN_STATUS_FAILED: "FAILED",
    pb.RUN_STATUS_KILLED: "KILLED",
}
SYSTEM_TAG = "mlflow."


async def _experiment(b: Backends, experiment_id: str) -> pb.Experiment:
    if not experiment_id.isdigit():
        raise NotFound(f"no experiment with id {experiment_id!r}", entity="experiment")
    reply = await b.call(rpc.GET_EXPERIMENT, pb.GetExperimentRequest(experiment_id=experiment_id))
    return reply.experiment


@html_errors
async def experiments(request: Request) -> Response:
    b = backends(request)
    name = request.query_params.get("q", "").strip()
    error = ""
    found: list[pb.Experiment] = []
    request_ = pb.SearchExperimentsRequest(max_results=1000, order_by=["last_update_time DESC"])
    if name:
        request_.filter = f"name LIKE '%{name.replace(chr(39), chr(39) * 2)}%'"
    try:
        found = list((await b.call(rpc.SEARCH_EXPERIMENTS, request_)).experiments)
    except InvalidArgument as exc:
        error = exc.message
    return page(request, "experiments.html", experiments=found, q=name, error=error)


@dataclass(frozen=True)
class Column:
    key: str  # as MLflow's grammar names it: metrics.acc, params.lr, tags.team

    @property
    def kind(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    def cell(self, run: pb.Run) -> str:
        if self.kind == "metrics":
            for m in run.data.metrics:
                if m.key == self.name:
                    return f"{m.value:.6g}"
            return ""
        values = run.data.params if self.kind == "params" else run.data.tags
        return values.get(self.name, "")


def _available(runs: list[pb.Run]) -> dict[str, list[str]]:
    metrics = sorted({m.key for r in runs for m in r.data.metrics})
    params = sorted({k for r in runs for k in r.data.params})
    tags = sorted({k for r in runs for k in r.data.tags if not k.startswith(SYSTEM_TAG)})
    return {"metrics": metrics, "params": params, "tags": tags}


def _columns(request: Request, available: dict[str, list[str]]) -> list[Column]:
    asked = request.query_params.getlist("cols")
    if asked:
        return [Column(c) for c in asked if c.split(".", 1)[0] in available and "." in c]
    return [Column(f"metrics.{k}") for k in available["metrics"][:DEFAULT_COLUMNS]] + [
        Column(f"params.{k}") for k in available["params"][:DEFAULT_COLUMNS]
    ]


def _page_size(request: Request) -> int:
    raw = request.query_params.get("n", "50")
    return int(raw) if raw.isdigit() and int(raw) in PAGE_SIZES else 50


@html_errors
async def experiment_runs(request: Request) -> Response:
    b = backends(request)
    experiment = await _experiment(b, request.path_params["experiment_id"])
    q = request.query_params
    search = pb.SearchRunsRequest(
        experiment_ids=[experiment.experiment_id],
        filter=q.get("filter", "").strip(),
        max_results=_page_size(request),
        order_by=[q["order"]] if q.get("order") else [],
        page_token=q.get("page_token", ""),
    )
    error = ""
    runs: list[pb.Run] = []
    next_token = ""
    try:
        reply = await b.call(rpc.SEARCH_RUNS, search)
        runs, next_token = list(reply.runs), reply.next_page_token
    except InvalidArgument as exc:  # the filter or the order, shown where it was typed
        error = exc.message
    available = _available(runs)
    # htmx swaps the panel alone (a filter, a sort, a page): no need to send the rest
    partial = request.headers.get("HX-Target") == "runs-panel"
    return page(
        request,
        "runs_panel.html" if partial else "runs.html",
        experiment=experiment,
        runs=runs,
        columns=_columns(request, available),
        available=available,
        status=STATUS,
        error=error,
        next_token=next_token,
        page_sizes=PAGE_SIZES,
        page_size=search.max_results,
        filter=search.filter,
        order=q.get("order", ""),
    )


async def _run(b: Backends, run_id: str) -> pb.Run:
    if not run_id or len(run_id) > 64 or not run_id.isalnum():
        raise NotFound(f"no run with id {run_id!r}", entity="run")
    return (await b.call(rpc.GET_RUN, pb.GetRunRequest(run_id=run_id))).run


@html_errors
async def run_redirect(request: Request) -> Response:
    run = await _run(backends(request), request.path_params["run_id"])
    return RedirectResponse(f"/experiments/{run.info.experiment_id}/runs/{run.info.run_id}", 302)


@html_errors
async def run_page(request: Request) -> Response:
    b = backends(request)
    run = await _run(b, request.path_params["run_id"])
    if run.info.experiment_id != request.path_params["experiment_id"]:
        return RedirectResponse(f"/experiments/{run.info.experiment_id}/runs/{run.info.run_id}")
    experiment = await _experiment(b, run.info.experiment_id)
    tags = dict(run.data.tags)
    return page(
        request,
        "run.html",
        run=run,
        experiment=experiment,
        status=STATUS[run.info.status] if run.info.status in STATUS else "UNKNOWN",
        metrics=sorted(run.data.metrics, key=lambda m: m.key),
        params=sorted(run.data.params.items()),
        tags=tags,
        user_tags=sorted((k, v) for k, v in tags.items() if not k.startswith(SYSTEM_TAG)),
        system_tags=sorted((k, v) for k, v in tags.items() if k.startswith(SYSTEM_TAG)),
        inputs=list(run.inputs.dataset_inputs),
        deleted=run.info.lifecycle_stage == cpb.LIFECYCLE_STAGE_DELETED,
    )


async def metric_history(request: Request) -> Response:
    """A chart's points: {key, steps, values, timestamps}, at most `max_points`."""
    b = backends(request)
    key = request.query_params.get("key", "")
    q = request.query_params
    raw = q.get("max_points", str(CHART_POINTS))
    if not key or not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        return JSONResponse(
            {"error": "key is required; max_points must be 1..100000", "field": "key"}, 400
        )
    ask = pb.GetMetricHistoryRequest(key=key, max_points=int(raw))
    for field in ("min_step", "max_step"):  # a zoomed chart's window
        if q.get(field):
            try:
                setattr(ask, field, int(q[field]))
            except ValueError:
                return JSONResponse({"error": f"{field} must be an integer", "field": field}, 400)
    try:
        run = await _run(b, request.path_params["run_id"])
        ask.run_id = run.info.run_id
        reply = await b.call(rpc.GET_METRIC_HISTORY, ask)
    except NotFound as exc:
        return JSONResponse({"error": exc.message}, 404)
    except InvalidArgument as exc:
        return JSONResponse({"error": exc.message, "field": exc.field or ""}, 400)
    series = reply.history
    body: dict[str, Any] = {
        "key": key,
        "steps": list(series.steps),
        "values": [v if v == v else None for v in series.values],  # NaN is not JSON
        "timestamps": list(series.timestamps),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@html_errors
async def compare(request: Request) -> Response:
    b = backends(request)
    ids = [i for i in request.query_params.getlist("runs") if i][:20]
    if len(ids) < 2:
        return page(
            request,
            "error.html",
            code=400,
            message="compare needs two or more runs: pick them in a runs table",
        )
    runs = [await _run(b, i) for i in ids]
    params = sorted({k for r in runs for k in r.data.params})
    metrics = sorted({m.key for r in runs for m in r.data.metrics})
    differs = {k for k in params if len({r.data.params.get(k) for r in runs}) > 1}
    latest = {r.info.run_id: {m.key: m.value for m in r.data.metrics} for r in runs}
    data = {  # for the page's script: parallel coordinates and overlaid charts
        "params": params,
        "metrics": metrics,
        "runs": [
            {
                "id": r.info.run_id,
                "name": r.info.run_name or r.info.run_id[:8],
                "params": dict(r.data.params),
                "metrics": {k: v for k, v in latest[r.info.run_id].items() if v == v},
            }
            for r in runs
        ],
    }
    return page(
        request,
        "compare.html",
        runs=runs,
        params=params,
        metrics=metrics,
        differs=differs,
        latest=latest,
        status=STATUS,
        data=data,
    )
