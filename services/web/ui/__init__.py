"""The web UI, served by the edge at `/` beside MLflow's REST API.

Server-rendered pages (Jinja2) with htmx for in-place updates and uPlot for
charts, both vendored under static/vendor: nothing is built, and no page
asks another host for anything. Live parts (a run's charts, a job's log,
the events tail) read server-sent events bridged from NATS (live.py).
Each section's pages live in their own module; ROUTES lists them all.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from switchyard.services.web.ui import (
    artifact_pages,
    deployment_pages,
    job_pages,
    live,
    registry_pages,
    study_pages,
    tracking_pages,
)
from switchyard.services.web.ui.render import STATIC, not_found, page


async def index(request: Request) -> Response:
    # `/#/experiments/1/runs/abc` (the links the mlflow client prints) is
    # sent on by app.js: the fragment never reaches the server.
    return page(request, "index.html")


async def events(request: Request) -> Response:
    return page(request, "events.html", type=request.query_params.get("type", "sy.>"))


async def unknown(request: Request) -> Response:
    return not_found(request, f"no page at {request.url.path}")


def routes() -> list[BaseRoute]:
    t, a = tracking_pages, artifact_pages
    return [
        Route("/", index),
        Route("/experiments", t.experiments),
        Route("/experiments/{experiment_id}", t.experiment_runs),
        Route("/experiments/{experiment_id}/runs/{run_id}", t.run_page),
        Route("/experiments/{experiment_id}/runs/{run_id}/artifacts", a.browse),
        Route("/runs/{run_id}", t.run_redirect),
        Route("/compare", t.compare),
        Route("/events", events),
        Route("/ui/api/runs/{run_id}/metrics", t.metric_history),
        Route("/ui/runs/{run_id}/artifact", a.raw),
        Route("/ui/live", live.stream),
        *registry_pages.ROUTES,
        *deployment_pages.ROUTES,
        *job_pages.ROUTES,
        *study_pages.ROUTES,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
