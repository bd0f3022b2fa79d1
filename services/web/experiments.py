"""/api/2.0/mlflow/experiments/*: MLflow's experiment endpoints over TrackingService."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.routing import Route

from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk.rpcs import tracking as rpc
from switchyard.services.web import wire
from switchyard.services.web.backends import Backends
from switchyard.services.web.endpoints import Fields, route

Reply = Mapping[str, Any]


def tag_map(fields: Fields, name: str = "tags") -> dict[str, str]:
    return {t.text("key", required=True): t.text("value") for t in fields.objects(name)}


async def create(f: Fields, b: Backends) -> Reply:
    req = pb.CreateExperimentRequest(
        name=f.text("name", required=True),
        artifact_location=b.private_uri(f.text("artifact_location")),
        tags=tag_map(f),
    )
    response = await b.call(rpc.CREATE_EXPERIMENT, req)
    return {"experiment_id": response.experiment.experiment_id}


async def get(f: Fields, b: Backends) -> Reply:
    req = pb.GetExperimentRequest(experiment_id=f.text("experiment_id", required=True))
    response = await b.call(rpc.GET_EXPERIMENT, req)
    return {"experiment": wire.experiment(response.experiment, b.public_uri)}


async def get_by_name(f: Fields, b: Backends) -> Reply:
    req = pb.GetExperimentByNameRequest(name=f.text("experiment_name", required=True))
    response = await b.call(rpc.GET_EXPERIMENT_BY_NAME, req)
    return {"experiment": wire.experiment(response.experiment, b.public_uri)}


async def search(f: Fields, b: Backends) -> Reply:
    req = pb.SearchExperimentsRequest(
        filter=f.text("filter"),
        view_type=wire.view_type(f.text("view_type"), "view_type"),
        max_results=f.integer("max_results", default=1000),
        order_by=f.texts("order_by"),
        page_token=f.text("page_token"),
    )
    response = await b.call(rpc.SEARCH_EXPERIMENTS, req)
    out: dict[str, Any] = {
        "experiments": [wire.experiment(e, b.public_uri) for e in response.experiments]
    }
    if response.next_page_token:
        out["next_page_token"] = response.next_page_token
    return out


async def update(f: Fields, b: Backends) -> Reply:
    req = pb.UpdateExperimentRequest(
        experiment_id=f.text("experiment_id", required=True), new_name=f.text("new_name")
    )
    await b.call(rpc.UPDATE_EXPERIMENT, req)
    return {}


async def delete(f: Fields, b: Backends) -> Reply:
    req = pb.DeleteExperimentRequest(experiment_id=f.text("experiment_id", required=True))
    await b.call(rpc.DELETE_EXPERIMENT, req)
    return {}


async def restore(f: Fields, b: Backends) -> Reply:
    req = pb.RestoreExperimentRequest(experiment_id=f.text("experiment_id", required=True))
    await b.call(rpc.RESTORE_EXPERIMENT, req)
    return {}


async def set_tag(f: Fields, b: Backends) -> Reply:
    req = pb.SetExperimentTagRequest(
        experiment_id=f.text("experiment_id", required=True),
        key=f.text("key", required=True),
        value=f.text("value"),
    )
    await b.call(rpc.SET_EXPERIMENT_TAG, req)
    return {}


ROUTES: list[Route] = [
    route("POST", "/experiments/create", create),
    route("GET", "/experiments/get", get),
    route("GET", "/experiments/get-by-name", get_by_name),
    route("POST", "/experiments/search", search),
    route("GET", "/experiments/search", search),
    route("POST", "/experiments/update", update),
    route("POST", "/experiments/delete", delete),
    route("POST", "/experiments/restore", restore),
    route("POST", "/experiments/set-experiment-tag", set_tag),
]
