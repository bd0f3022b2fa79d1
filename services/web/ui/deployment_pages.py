"""Deployments on the inference gateway: the list, and one deployment with its charts.

    /deployments                              every deployment: state, model, replicas, split
    /deployments/<name>                       one: replicas, traffic split, revisions, charts
    /ui/api/deployments/<name>/stats          its counters now, for the page's charts

The gateway keeps no time series: a revision reports its requests and errors
since its rollout began and the p99 of its latest requests (Revision in
gateway.proto). The page samples those every few seconds and charts the
differences from the moment it opened (static/registry.js); `sy.gateway.*`
events for the deployment make it sample and redraw at once.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from switchyard.core.ids import now_ms
from switchyard.errors import InvalidArgument, NotFound
from switchyard.proto.v1 import gateway_pb2 as pb
from switchyard.sdk.rpcs import gateway as rpc
from switchyard.services.web.backends import Backends
from switchyard.services.web.ui.render import backends, html_errors, page

PAGE_SIZE = 100
ROLES = ("stable", "next", "canary", "shadow", "retired")  # the order a table lists them in


def state_name(state: int) -> str:
    return pb.DeploymentState.Name(state).removeprefix("DEPLOYMENT_") if state else "UNKNOWN"


def by_role(d: pb.Deployment) -> dict[str, pb.Revision]:
    """The newest revision in each role (an older one may still be draining)."""
    found: dict[str, pb.Revision] = {}
    for r in sorted(d.revisions, key=lambda r: r.revision):
        found[r.role] = r
    return found


def summary(d: pb.Deployment) -> dict[str, Any]:
    """What a row of the list and the head of the page show of a deployment."""
    roles = by_role(d)
    stable, canary, shadow = roles.get("stable"), roles.get("canary"), roles.get("shadow")
    canary_percent = canary.percent if canary else 0.0
    return {
        "d": d,
        "state": state_name(d.state),
        "stable": stable,
        "canary": canary,
        "shadow": shadow,
        "ready": sum(1 for r in d.replicas if r.state == "ready"),
        "stable_percent": 100.0 - canary_percent,
        "canary_percent": canary_percent,
        "shadow_percent": (shadow.percent or 100.0) if shadow else 0.0,
    }


async def _deployment(b: Backends, name: str) -> pb.Deployment:
    try:
        reply = await b.call(rpc.GET_DEPLOYMENT, pb.GetDeploymentRequest(name=name))
    except InvalidArgument:  # a name no deployment can have
        raise NotFound(f"no deployment {name[:80]!r}", entity="deployment") from None
    return reply.deployment


@html_errors
async def deployments(request: Request) -> Response:
    b = backends(request)
    listing = pb.ListDeploymentsRequest(
        max_results=PAGE_SIZE, page_token=request.query_params.get("page_token", "")
    )
    reply = await b.call(rpc.LIST_DEPLOYMENTS, listing)
    return page(
        request,
        "deployments.html",
        rows=[summary(d) for d in reply.deployments],
        next_token=reply.next_page_token,
    )


def revisions(d: pb.Deployment) -> list[pb.Revision]:
    order = {role: i for i, role in enumerate(ROLES)}
    return sorted(d.revisions, key=lambda r: (order.get(r.role, len(ROLES)), -r.revision))


@html_errors
async def deployment_page(request: Request) -> Response:
    b = backends(request)
    d = await _deployment(b, request.path_params["name"])
    role_of = {r.revision: r.role for r in d.revisions}
    return page(
        request,
        "deployment.html",
        s=summary(d),
        d=d,
        revisions=revisions(d),
        replicas=sorted(d.replicas, key=lambda r: (r.revision, r.created_ms)),
        role_of=role_of,
        registry="registry" in b.services(),
    )


def stats(d: pb.Deployment) -> dict[str, Any]:
    """The deployment's counters at this moment: one sample of the page's charts."""
    return {
        "time": now_ms(),
        "state": state_name(d.state),
        "desired": sum(r.replicas for r in d.revisions),
        "ready": sum(r.ready_replicas for r in d.revisions),
        "observed_concurrency": d.observed_concurrency,
        "revisions": [
            {
                "revision": r.revision,
                "role": r.role,
                "version": r.model_version,
                "percent": r.percent,
                "replicas": r.replicas,
                "ready": r.ready_replicas,
                "requests": r.requests,
                "errors": r.errors,
                "p99_ms": r.p99_ms,
            }
            for r in d.revisions
        ],
    }


async def deployment_stats(request: Request) -> Response:
    b = backends(request)
    try:
        d = await _deployment(b, request.path_params["name"])
    except NotFound as exc:
        return JSONResponse({"error": exc.message}, 404)
    return JSONResponse(stats(d), headers={"Cache-Control": "no-store"})


ROUTES: list[BaseRoute] = [
    Route("/deployments", deployments),
    Route("/deployments/{name}", deployment_page),
    Route("/ui/api/deployments/{name}/stats", deployment_stats),
]
