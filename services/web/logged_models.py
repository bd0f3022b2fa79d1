"""/api/2.0/mlflow/logged-models: MLflow 3's logged models, kept as tracking runs.

The edge owns no tables, so a logged model is a run of one hidden experiment
(`LOGGED_MODELS_EXPERIMENT`): model id `m-<run id>`, name = run name,
params = run params, tags = run tags, files under the run's artifact root.
What MLflow keeps as columns (the model's experiment, source run, type,
status) are reserved `sy.logged_model.*` tags, never shown as model tags.
Search runs the tracking search over that experiment with the filter's
attribute names rewritten to those tags.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.routing import Route

from switchyard.core.ids import parse_hex_id
from switchyard.errors import AlreadyExists, InvalidArgument, NotFound
from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk.entities import LOGGED_MODELS_EXPERIMENT
from switchyard.sdk.rpcs import tracking as rpc
from switchyard.services.web import wire
from switchyard.services.web.backends import Backends
from switchyard.services.web.endpoints import Fields, route
from switchyard.services.web.experiments import tag_map
from switchyard.services.web.runs import run_id

Reply = Mapping[str, Any]

PREFIX = "m-"
_TAG = "sy.logged_model."
EXPERIMENT_TAG = _TAG + "experiment_id"
SOURCE_RUN_TAG = _TAG + "source_run_id"
MODEL_TYPE_TAG = _TAG + "model_type"
STATUS_TAG = _TAG + "status"
STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
MAX_SEARCH_RESULTS = 100
# Logged-model attributes -> the run fields or reserved tags that hold them.
_ATTRIBUTES = {
    "name": "attributes.run_name",
    "model_id": "attributes.run_id",
    "source_run_id": f"tags.`{SOURCE_RUN_TAG}`",
    "model_type": f"tags.`{MODEL_TYPE_TAG}`",
    "status": f"tags.`{STATUS_TAG}`",
    "creation_timestamp": "attributes.start_time",
    "creation_time": "attributes.start_time",
    "last_updated_timestamp": "attributes.start_time",
}
_CLAUSE = re.compile(
    r"(^|\s+and\s+)(?:attributes\.|attribute\.)?(\w+)(?=\s*(?:[=!<>]|like\b|ilike\b|in\b))",
    re.IGNORECASE,
)


async def _hidden_experiment(b: Backends) -> str:
    if b.logged_models_experiment:
        return b.logged_models_experiment
    try:
        found = await b.call(
            rpc.GET_EXPERIMENT_BY_NAME, pb.GetExperimentByNameRequest(name=LOGGED_MODELS_EXPERIMENT)
        )
        exp_id = found.experiment.experiment_id
    except NotFound:
        try:
            created = await b.call(
                rpc.CREATE_EXPERIMENT, pb.CreateExperimentRequest(name=LOGGED_MODELS_EXPERIMENT)
            )
            exp_id = created.experiment.experiment_id
        except AlreadyExists:  # another request made it first
            found = await b.call(
                rpc.GET_EXPERIMENT_BY_NAME,
                pb.GetExperimentByNameRequest(name=LOGGED_MODELS_EXPERIMENT),
            )
            exp_id = found.experiment.experiment_id
    b.logged_models_experiment = str(exp_id)
    return b.logged_models_experiment


def run_id_of(model_id: str) -> str:
    if not model_id.startswith(PREFIX) or parse_hex_id(model_id[len(PREFIX) :]) is None:
        raise NotFound(f"Logged model with ID '{model_id}' not found", entity="logged_model")
    return model_id[len(PREFIX) :]


def logged_model(run: pb.Run, b: Backends) -> dict[str, Any]:
    tags = dict(run.data.tags)
    info: dict[str, Any] = {
        "model_id": PREFIX + run.info.run_id,
        "experiment_id": tags.get(EXPERIMENT_TAG, ""),
        "name": run.info.run_name,
        "creation_timestamp_ms": run.info.start_time,
        "last_updated_timestamp_ms": run.info.end_time
        if run.info.HasField("end_time")
        else run.info.start_time,
        "artifact_uri": b.public_uri(run.info.artifact_uri),
        "status": tags.get(STATUS_TAG, "LOGGED_MODEL_PENDING"),
        "model_type": tags.get(MODEL_TYPE_TAG, ""),
        "source_run_id": tags.get(SOURCE_RUN_TAG, ""),
        "tags": [
            {"key": k, "value": v}
            for k, v in tags.items()
            if not k.startswith(_TAG) and k != "mlflow.runName"
        ],
    }
    return {
        "info": info,
        "data": {
            "params": wire.key_values(run.data.params),
            "metrics": [wire.metric(m) for m in run.data.metrics],
        },
    }


async def get_model_run(b: Backends, model_id: str) -> pb.Run:
    """The run that holds logged model `model_id`; NotFound if there is none."""
    try:
        response = await b.call(rpc.GET_RUN, pb.GetRunRequest(run_id=run_id_of(model_id)))
    except NotFound:
        raise NotFound(
            f"Logged model with ID '{model_id}' not found", entity="logged_model"
        ) from None
    run: pb.Run = response.run
    if EXPERIMENT_TAG not in run.data.tags:
        raise NotFound(f"Logged model with ID '{model_id}' not found", entity="logged_model")
    return run


def _params(f: Fields) -> list[cpb.Tag]:
    return [
        cpb.Tag(key=p.text("key", required=True), value=p.text("value"))
        for p in f.objects("params")
    ]


async def create(f: Fields, b: Backends) -> Reply:
    # Every field is read before anything is written: a bad one (params found by
    # the fuzz test) must leave no half-made model behind.
    experiment_id = f.text("experiment_id", required=True)
    tags = tag_map(f)
    tags.update(
        {
            EXPERIMENT_TAG: experiment_id,
            SOURCE_RUN_TAG: f.text("source_run_id"),
            MODEL_TYPE_TAG: f.text("model_type"),
            STATUS_TAG: "LOGGED_MODEL_PENDING",
        }
    )
    params = _params(f)
    name = f.text("name")
    await b.call(rpc.GET_EXPERIMENT, pb.GetExperimentRequest(experiment_id=experiment_id))
    req = pb.CreateRunRequest(experiment_id=await _hidden_experiment(b), run_name=name, tags=tags)
    run = (await b.call(rpc.CREATE_RUN, req)).run
    if params:
        await b.call(rpc.LOG_BATCH, pb.LogBatchRequest(run_id=run.info.run_id, params=params))
        run = (await b.call(rpc.GET_RUN, pb.GetRunRequest(run_id=run.info.run_id))).run
    return {"model": logged_model(run, b)}


async def get(f: Fields, b: Backends) -> Reply:
    run = await get_model_run(b, f.text("model_id", required=True))
    if run.info.lifecycle_stage == cpb.LIFECYCLE_STAGE_DELETED and not f.flag("allow_deleted"):
        raise NotFound(f"Logged model with ID '{run.info.run_id}' not found", entity="logged_model")
    return {"model": logged_model(run, b)}


async def finalize(f: Fields, b: Backends) -> Reply:
    model_id = f.text("model_id", required=True)
    status = f.text("status", required=True)
    if status not in STATUSES:
        raise InvalidArgument(
            f"status '{status}' is not one of {', '.join(STATUSES)}", field="status"
        )
    run = await get_model_run(b, model_id)
    rid = run.info.run_id
    await b.call(rpc.SET_TAG, pb.SetTagRequest(run_id=rid, key=STATUS_TAG, value=status))
    done = "FINISHED" if status == "LOGGED_MODEL_READY" else "FAILED"
    await b.call(rpc.UPDATE_RUN, pb.UpdateRunRequest(run_id=rid, status=wire.run_status(done)))
    run = (await b.call(rpc.GET_RUN, pb.GetRunRequest(run_id=rid))).run
    return {"model": logged_model(run, b)}


async def delete(f: Fields, b: Backends) -> Reply:
    run = await get_model_run(b, f.text("model_id", required=True))
    await b.call(rpc.DELETE_RUN, pb.DeleteRunRequest(run_id=run.info.run_id))
    return {}


async def set_tags(f: Fields, b: Backends) -> Reply:
    run = await get_model_run(b, f.text("model_id", required=True))
    tags = [cpb.Tag(key=k, value=v) for k, v in tag_map(f).items() if not k.startswith(_TAG)]
    await b.call(rpc.LOG_BATCH, pb.LogBatchRequest(run_id=run.info.run_id, tags=tags))
    return {}


async def delete_tag(f: Fields, b: Backends) -> Reply:
    run = await get_model_run(b, f.text("model_id", required=True))
    key = f.text("tag_key", required=True)
    await b.call(rpc.DELETE_TAG, pb.DeleteTagRequest(run_id=run.info.run_id, key=key))
    return {}


async def log_params(f: Fields, b: Backends) -> Reply:
    run = await get_model_run(b, f.text("model_id", required=True))
    await b.call(rpc.LOG_BATCH, pb.LogBatchRequest(run_id=run.info.run_id, params=_params(f)))
    return {}


def run_filter(text: str) -> str:
    """A logged-model filter as a run filter over the hidden experiment."""

    def rename(m: re.Match[str]) -> str:
        name = m.group(2)
        return m.group(1) + _ATTRIBUTES.get(name.lower(), name)

    return _CLAUSE.sub(rename, text.strip())


def _order(f: Fields) -> list[str]:
    out = []
    for o in f.objects("order_by"):
        name = o.text("field_name", required=True)
        direction = "ASC" if o.flag("ascending", default=True) else "DESC"
        out.append(f"{_ATTRIBUTES.get(name, name)} {direction}")
    return out


async def search(f: Fields, b: Backends) -> Reply:
    experiment_ids = f.texts("experiment_ids")
    if not experiment_ids:
        f.text("experiment_ids", required=True)
    limit = f.integer("max_results", default=MAX_SEARCH_RESULTS)
    if not 0 < limit <= MAX_SEARCH_RESULTS:
        raise InvalidArgument(
            f"max_results must be between 1 and {MAX_SEARCH_RESULTS}", field="max_results"
        )
    user_filter = run_filter(f.text("filter"))
    scope = " and ".join(filter(None, [user_filter]))
    hidden = await _hidden_experiment(b)
    models: list[dict[str, Any]] = []
    token = ""
    for exp_id in experiment_ids:  # usually one
        clause = f"tags.`{EXPERIMENT_TAG}` = '{exp_id}'"
        req = pb.SearchRunsRequest(
            experiment_ids=[hidden],
            filter=f"{clause} and {scope}" if scope else clause,
            max_results=limit,
            order_by=_order(f),
            page_token=f.text("page_token") if len(experiment_ids) == 1 else "",
        )
        response = await b.call(rpc.SEARCH_RUNS, req)
        models.extend(logged_model(r, b) for r in response.runs)
        token = response.next_page_token if len(experiment_ids) == 1 else ""
    out: dict[str, Any] = {"models": models[:limit]}
    if token:
        out["next_page_token"] = token
    return out


async def log_outputs(f: Fields, b: Backends) -> Reply:
    """POST runs/outputs: which models a run produced, kept as the run's tag."""
    rid = run_id(f)
    ids = [m.text("model_id", required=True) for m in f.objects("models")]
    for model_id in ids:
        await get_model_run(b, model_id)
    if ids:
        req = pb.SetTagRequest(run_id=rid, key=_TAG + "outputs", value=",".join(ids))
        await b.call(rpc.SET_TAG, req)
    return {}


ROUTES: list[Route] = [
    route("POST", "/logged-models", create),
    route("POST", "/logged-models/search", search),
    route("GET", "/logged-models/{model_id}", get),
    route("PATCH", "/logged-models/{model_id}", finalize),
    route("DELETE", "/logged-models/{model_id}", delete),
    route("PATCH", "/logged-models/{model_id}/tags", set_tags),
    route("DELETE", "/logged-models/{model_id}/tags/{tag_key}", delete_tag),
    route("POST", "/logged-models/{model_id}/params", log_params),
    route("POST", "/runs/outputs", log_outputs),
]
