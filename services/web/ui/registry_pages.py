"""Registered models, a model's versions, and a version with its lineage and history.

    /models                                   registered models, with a filter
    /models/<name>                            its versions: stages, aliases, source runs
    /models/<name>/versions/<version>         a version: source run, signature, lineage,
                                              audit history

The MLflow UI's links (`/#/models/<name>/versions/<n>`) are sent on to these
paths by static/app.js: the fragment never reaches a server.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from switchyard.errors import InvalidArgument, NotFound
from switchyard.proto.v1 import registry_pb2 as pb
from switchyard.sdk.rpcs import registry as rpc
from switchyard.services.web.backends import Backends
from switchyard.services.web.ui.render import backends, html_errors, page

SYSTEM_TAG = "mlflow."
MAX_VERSIONS = 1000
# Text with an operator or a quote is the registry's filter grammar; other text, a name.
GRAMMAR = re.compile(r"[=<>'\"!]|\bi?like\b", re.IGNORECASE)


def quoted(value: str) -> str:
    """A string literal in the registry's filter grammar (a doubled quote escapes it)."""
    return "'" + value.replace("'", "''") + "'"


def model_filter(text: str) -> str:
    """What the filter box means: the grammar as typed, or a name that contains the text."""
    if not text or GRAMMAR.search(text):
        return text
    return f"name LIKE {quoted('%' + text + '%')}"


def user_tags(tags: Any) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in tags.items() if not k.startswith(SYSTEM_TAG))


@html_errors
async def models(request: Request) -> Response:
    b = backends(request)
    text = request.query_params.get("filter", "").strip()
    search = pb.SearchRegisteredModelsRequest(
        filter=model_filter(text),
        max_results=100,
        order_by=["last_updated_timestamp DESC"],
        page_token=request.query_params.get("page_token", ""),
    )
    error, found, next_token = "", [], ""
    try:
        reply = await b.call(rpc.SEARCH_REGISTERED_MODELS, search)
        found, next_token = list(reply.registered_models), reply.next_page_token
    except InvalidArgument as exc:  # the filter, shown where it was typed
        error = exc.message
    rows = [
        {
            "model": m,
            "latest": max((v.version for v in m.latest_versions), default=0),
            "aliases": sorted(m.aliases.items()),
            "tags": user_tags(m.tags),
        }
        for m in found
    ]
    return page(request, "models.html", rows=rows, filter=text, error=error, next_token=next_token)


def _name(request: Request) -> str:
    name = request.path_params["name"]
    if not name or len(name) > 512:
        raise NotFound(f"no registered model {name!r}", entity="model")
    return str(name)


def _version(request: Request) -> int:
    raw = str(request.path_params["version"])
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise NotFound(f"no version {raw!r} of model {request.path_params['name']!r}")
    return int(raw)


async def _model(b: Backends, name: str) -> pb.RegisteredModel:
    reply = await b.call(rpc.GET_REGISTERED_MODEL, pb.GetRegisteredModelRequest(name=name))
    return reply.registered_model


async def _history(b: Backends, name: str) -> list[pb.ModelHistoryEntry]:
    reply = await b.call(rpc.GET_MODEL_HISTORY, pb.GetModelHistoryRequest(name=name))
    return list(reply.entries)


def describe(entry: pb.ModelHistoryEntry) -> str:
    """What a history entry changed, in words (its action says what kind of change)."""
    kind = entry.action.split(".", 1)[0]
    if entry.action == "stage.changed":
        return f"version {entry.version}: {entry.from_stage or 'None'} → {entry.to_stage}"
    if kind == "alias":
        before = f"v{entry.from_version} → " if entry.from_version else ""
        after = f"v{entry.to_version}" if entry.to_version else "removed"
        return f"@{entry.alias}: {before}{after}"
    what = f"version {entry.version}" if kind == "version" and entry.version else ""
    return ", ".join(part for part in (what, entry.detail) if part)


def concerns(entry: pb.ModelHistoryEntry, version: int) -> bool:
    return version in (entry.version, entry.from_version, entry.to_version)


def history_rows(entries: list[pb.ModelHistoryEntry]) -> list[dict[str, Any]]:
    return [{"entry": e, "what": describe(e)} for e in reversed(entries)]  # newest first


@html_errors
async def model_page(request: Request) -> Response:
    b = backends(request)
    model = await _model(b, _name(request))
    search = pb.SearchModelVersionsRequest(
        filter=f"name = {quoted(model.name)}",
        max_results=MAX_VERSIONS,
        order_by=["version_number DESC"],
    )
    versions = list((await b.call(rpc.SEARCH_MODEL_VERSIONS, search)).model_versions)
    return page(
        request,
        "model.html",
        model=model,
        versions=versions,
        aliases=sorted(model.aliases.items()),
        tags=user_tags(model.tags),
        user_tags=user_tags,
    )


@dataclass(frozen=True)
class Field:
    """One input, output or parameter of a signature, as a table row shows it."""

    name: str
    type: str
    shape: str
    detail: str


def _field(spec: dict[str, Any]) -> Field:
    tensor = spec.get("tensor-spec") or {}
    kind = str(spec.get("type", ""))
    if tensor:
        kind = f"tensor {tensor.get('dtype', '')}".strip()
    shape = tensor.get("shape", spec.get("shape"))
    detail = []
    if spec.get("required") is False or spec.get("optional"):
        detail.append("optional")
    if "default" in spec:
        detail.append(f"default {json.dumps(spec['default'])}")
    return Field(
        str(spec.get("name", "")),
        kind,
        json.dumps(shape) if shape is not None else "",
        ", ".join(detail),
    )


def schema(text: str) -> list[Field] | str:
    """A signature part as rows; text that is not MLflow's schema list, as it is."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if not isinstance(parsed, list) or not all(isinstance(s, dict) for s in parsed):
        return text
    return [_field(s) for s in parsed]


async def _mlmodel_signature(b: Backends, location: str) -> dict[str, str]:
    """The signature in the version's MLmodel file, for versions registered without one
    (the MLflow client sends none); {} when there is no such file."""
    import yaml

    try:
        store = b.store(b.private_uri(location))
        data = await asyncio.to_thread(store.read_bytes, "MLmodel")
        found = yaml.safe_load(data.decode("utf-8", errors="replace"))
    except Exception:  # no file, no store, or not YAML: the page shows no signature
        return {}
    signature = found.get("signature") if isinstance(found, dict) else None
    if not isinstance(signature, dict):
        return {}
    return {k: v for k in ("inputs", "outputs", "params") if isinstance(v := signature.get(k), str)}


async def signature_of(b: Backends, version: pb.ModelVersion) -> dict[str, list[Field] | str]:
    parts = {k: getattr(version.signature, k) for k in ("inputs", "outputs", "params")}
    if not any(parts.values()) and version.storage_location:
        parts = await _mlmodel_signature(b, version.storage_location)
    return {k: schema(v) for k, v in parts.items() if v}


@html_errors
async def version_page(request: Request) -> Response:
    b = backends(request)
    name, number = _name(request), _version(request)
    lineage = await b.call(
        rpc.GET_MODEL_LINEAGE, pb.GetModelLineageRequest(name=name, version=number)
    )
    version = lineage.model_version
    history = [e for e in await _history(b, version.name) if concerns(e, number)]
    return page(
        request,
        "model_version.html",
        version=version,
        lineage=lineage,
        signature=await signature_of(b, version),
        tags=user_tags(version.tags),
        history=history_rows(history),
        gateway="gateway" in b.services(),
    )


ROUTES: list[BaseRoute] = [
    Route("/models", models),
    Route("/models/{name}", model_page),
    Route("/models/{name}/versions/{version}", version_page),
]
