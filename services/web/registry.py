"""/api/2.0/mlflow/registered-models/* and model-versions/*: MLflow's registry over RegistryService.

Versions are READY at once. A version whose source is `models:/<model id>`
(MLflow 3's logged models) is registered from that model's artifact
location, and remembers the model id in a reserved tag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.routing import Route

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import registry_pb2 as rpb
from switchyard.sdk.rpcs import registry as rpc
from switchyard.services.web import logged_models, wire
from switchyard.services.web.backends import Backends
from switchyard.services.web.endpoints import Fields, route
from switchyard.services.web.experiments import tag_map

Reply = Mapping[str, Any]

# MLflow 3 clients add this to every registry search against an OSS server; there
# are no prompts here, so every model matches it.
_PROMPT_CLAUSE = re.compile(
    r"(\s+and\s+)?tags?\.[`\"]?mlflow\.prompt\.is_prompt[`\"]?\s*!=\s*'true'(\s+and\s+)?",
    re.IGNORECASE,
)


def without_prompt_clause(text: str) -> str:
    def keep_one_and(m: re.Match[str]) -> str:
        return " and " if m.group(1) and m.group(2) else ""

    return _PROMPT_CLAUSE.sub(keep_one_and, text).strip()


def _version(f: Fields) -> int:
    version = f.integer("version", required=True)
    if version < 1:
        raise InvalidArgument(
            f"version must be a positive integer (got {version})", field="version"
        )
    return version


def _page(out: dict[str, Any], token: str) -> dict[str, Any]:
    if token:
        out["next_page_token"] = token
    return out


# ---- registered models ---------------------------------------------------------


async def create_model(f: Fields, b: Backends) -> Reply:
    req = rpb.CreateRegisteredModelRequest(
        name=f.text("name", required=True), tags=tag_map(f), description=f.text("description")
    )
    response = await b.call(rpc.CREATE_REGISTERED_MODEL, req)
    return {"registered_model": wire.registered_model(response.registered_model, b.public_uri)}


async def get_model(f: Fields, b: Backends) -> Reply:
    req = rpb.GetRegisteredModelRequest(name=f.text("name", required=True))
    response = await b.call(rpc.GET_REGISTERED_MODEL, req)
    return {"registered_model": wire.registered_model(response.registered_model, b.public_uri)}


async def rename_model(f: Fields, b: Backends) -> Reply:
    req = rpb.RenameRegisteredModelRequest(
        name=f.text("name", required=True), new_name=f.text("new_name", required=True)
    )
    response = await b.call(rpc.RENAME_REGISTERED_MODEL, req)
    return {"registered_model": wire.registered_model(response.registered_model, b.public_uri)}


async def update_model(f: Fields, b: Backends) -> Reply:
    req = rpb.UpdateRegisteredModelRequest(
        name=f.text("name", required=True), description=f.text("description")
    )
    response = await b.call(rpc.UPDATE_REGISTERED_MODEL, req)
    return {"registered_model": wire.registered_model(response.registered_model, b.public_uri)}


async def delete_model(f: Fields, b: Backends) -> Reply:
    req = rpb.DeleteRegisteredModelRequest(name=f.text("name", required=True))
    await b.call(rpc.DELETE_REGISTERED_MODEL, req)
    return {}


async def search_models(f: Fields, b: Backends) -> Reply:
    req = rpb.SearchRegisteredModelsRequest(
        filter=without_prompt_clause(f.text("filter")),
        max_results=f.integer("max_results", default=100),
        order_by=f.texts("order_by"),
        page_token=f.text("page_token"),
    )
    response = await b.call(rpc.SEARCH_REGISTERED_MODELS, req)
    models = [wire.registered_model(m, b.public_uri) for m in response.registered_models]
    return _page({"registered_models": models}, response.next_page_token)


async def set_model_tag(f: Fields, b: Backends) -> Reply:
    req = rpb.SetRegisteredModelTagRequest(
        name=f.text("name", required=True), key=f.text("key", required=True), value=f.text("value")
    )
    await b.call(rpc.SET_REGISTERED_MODEL_TAG, req)
    return {}


async def delete_model_tag(f: Fields, b: Backends) -> Reply:
    req = rpb.DeleteRegisteredModelTagRequest(
        name=f.text("name", required=True), key=f.text("key", required=True)
    )
    await b.call(rpc.DELETE_REGISTERED_MODEL_TAG, req)
    return {}


async def latest_versions(f: Fields, b: Backends) -> Reply:
    req = rpb.GetRegisteredModelRequest(name=f.text("name", required=True))
    model = (await b.call(rpc.GET_REGISTERED_MODEL, req)).registered_model
    stages = {s.lower() for s in f.texts("stages")}
    versions = [v for v in model.latest_versions if not stages or v.current_stage.lower() in stages]
    return {"model_versions": [wire.model_version(v, b.public_uri) for v in versions]}


async def set_alias(f: Fields, b: Backends) -> Reply:
    req = rpb.SetRegisteredModelAliasRequest(
        name=f.text("name", required=True),
        alias=f.text("alias", required=True),
        version=_version(f),
    )
    await b.call(rpc.SET_REGISTERED_MODEL_ALIAS, req)
    return {}


async def delete_alias(f: Fields, b: Backends) -> Reply:
    req = rpb.DeleteRegisteredModelAliasRequest(
        name=f.text("name", required=True), alias=f.text("alias", required=True)
    )
    await b.call(rpc.DELETE_REGISTERED_MODEL_ALIAS, req)
    return {}


async def get_by_alias(f: Fields, b: Backends) -> Reply:
    req = rpb.GetModelVersionByAliasRequest(
        name=f.text("name", required=True), alias=f.text("alias", required=True)
    )
    response = await b.call(rpc.GET_MODEL_VERSION_BY_ALIAS, req)
    return {"model_version": wire.model_version(response.model_version, b.public_uri)}


# ---- model versions ------------------------------------------------------------


async def create_version(f: Fields, b: Backends) -> Reply:
    source = f.text("source", required=True)
    tags = tag_map(f)
    run_id = f.text("run_id")
    model_id = f.text("model_id")
    if source.startswith("models:/") and "@" not in source and source.count("/") == 1:
        model_id = source.removeprefix("models:/")
    if model_id:
        run = await logged_models.get_model_run(b, model_id)
        tags[wire.MODEL_ID_TAG] = model_id
        if source.startswith("models:/"):
            source = run.info.artifact_uri
        run_id = run_id or run.data.tags.get(logged_models.SOURCE_RUN_TAG, "")
    req = rpb.CreateModelVersionRequest(
        name=f.text("name", required=True),
        source=b.private_uri(source),
        run_id=run_id,
        tags=tags,
        description=f.text("description"),
    )
    response = await b.call(rpc.CREATE_MODEL_VERSION, req)
    return {"model_version": wire.model_version(response.model_version, b.public_uri)}


async def get_version(f: Fields, b: Backends) -> Reply:
    req = rpb.GetModelVersionRequest(name=f.text("name", required=True), version=_version(f))
    response = await b.call(rpc.GET_MODEL_VERSION, req)
    return {"model_version": wire.model_version(response.model_version, b.public_uri)}


async def update_version(f: Fields, b: Backends) -> Reply:
    req = rpb.UpdateModelVersionRequest(
        name=f.text("name", required=True), version=_version(f), description=f.text("description")
    )
    response = await b.call(rpc.UPDATE_MODEL_VERSION, req)
    return {"model_version": wire.model_version(response.model_version, b.public_uri)}


async def delete_version(f: Fields, b: Backends) -> Reply:
    req = rpb.DeleteModelVersionRequest(name=f.text("name", required=True), version=_version(f))
    await b.call(rpc.DELETE_MODEL_VERSION, req)
    return {}


async def search_versions(f: Fields, b: Backends) -> Reply:
    req = rpb.SearchModelVersionsRequest(
        filter=without_prompt_clause(f.text("filter")),
        max_results=min(f.integer("max_results", default=1000), 10_000),
        order_by=f.texts("order_by"),
        page_token=f.text("page_token"),
    )
    response = await b.call(rpc.SEARCH_MODEL_VERSIONS, req)
    versions = [wire.model_version(v, b.public_uri) for v in response.model_versions]
    return _page({"model_versions": versions}, response.next_page_token)


async def transition_stage(f: Fields, b: Backends) -> Reply:
    req = rpb.TransitionModelVersionStageRequest(
        name=f.text("name", required=True),
        version=_version(f),
        stage=f.text("stage", required=True),
        archive_existing_versions=f.flag("archive_existing_versions"),
    )
    response = await b.call(rpc.TRANSITION_MODEL_VERSION_STAGE, req)
    return {"model_version": wire.model_version(response.model_version, b.public_uri)}


async def download_uri(f: Fields, b: Backends) -> Reply:
    req = rpb.GetModelVersionDownloadUriRequest(
        name=f.text("name", required=True), version=_version(f)
    )
    response = await b.call(rpc.GET_MODEL_VERSION_DOWNLOAD_URI, req)
    return {"artifact_uri": b.public_uri(response.artifact_uri)}


async def set_version_tag(f: Fields, b: Backends) -> Reply:
    req = rpb.SetModelVersionTagRequest(
        name=f.text("name", required=True),
        version=_version(f),
        key=f.text("key", required=True),
        value=f.text("value"),
    )
    await b.call(rpc.SET_MODEL_VERSION_TAG, req)
    return {}


async def delete_version_tag(f: Fields, b: Backends) -> Reply:
    req = rpb.DeleteModelVersionTagRequest(
        name=f.text("name", required=True), version=_version(f), key=f.text("key", required=True)
    )
    await b.call(rpc.DELETE_MODEL_VERSION_TAG, req)
    return {}


ROUTES: list[Route] = [
    route("POST", "/registered-models/create", create_model),
    route("GET", "/registered-models/get", get_model),
    route("POST", "/registered-models/rename", rename_model),
    route("PATCH", "/registered-models/update", update_model),
    route("DELETE", "/registered-models/delete", delete_model),
    route("GET", "/registered-models/search", search_models),
    route("POST", "/registered-models/set-tag", set_model_tag),
    route("DELETE", "/registered-models/delete-tag", delete_model_tag),
    route("POST", "/registered-models/get-latest-versions", latest_versions),
    route("GET", "/registered-models/get-latest-versions", latest_versions),
    route("POST", "/registered-models/alias", set_alias),
    route("DELETE", "/registered-models/alias", delete_alias),
    route("GET", "/registered-models/alias", get_by_alias),
    route("POST", "/model-versions/create", create_version),
    route("GET", "/model-versions/get", get_version),
    route("PATCH", "/model-versions/update", update_version),
    route("DELETE", "/model-versions/delete", delete_version),
    route("GET", "/model-versions/search", search_versions),
    route("POST", "/model-versions/transition-stage", transition_stage),
    route("GET", "/model-versions/get-download-uri", download_uri),
    route("POST", "/model-versions/set-tag", set_version_tag),
    route("DELETE", "/model-versions/delete-tag", delete_version_tag),
]
