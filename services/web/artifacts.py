"""The proxied artifact API, `/api/2.0/mlflow-artifacts/artifacts[/<path>]`.

Paths are relative to the platform's artifact root (the SDK's store, local
folder or S3), where runs' artifact URIs `mlflow-artifacts:/<exp>/<run>/artifacts`
point. Multipart upload answers 501 NOT_IMPLEMENTED so the client falls back
to one PUT per file. Also `GET /api/2.0/mlflow/artifacts/list` for a run.
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchyard.core.artifacts import ArtifactStore, FileInfo, clean_path
from switchyard.errors import NotFound, SwitchyardError
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk.rpcs import tracking as rpc
from switchyard.services.web import errors
from switchyard.services.web.backends import Backends
from switchyard.services.web.endpoints import JSON, Fields, route
from switchyard.services.web.runs import run_id

Reply = Mapping[str, Any]


async def _list(store: ArtifactStore, path: str) -> list[FileInfo]:
    try:
        return await asyncio.to_thread(store.list, path)
    except NotFound:
        return []  # as MLflow: a missing folder lists as empty


def _file_json(info: FileInfo, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"path": name, "is_dir": info.is_dir}
    if info.file_size is not None:
        out["file_size"] = info.file_size
    return out


async def list_proxied(f: Fields, b: Backends) -> Reply:
    path = clean_path(f.text("path"))
    infos = await _list(b.store(), path)
    return {"files": [_file_json(i, i.path.rsplit("/", 1)[-1]) for i in infos]}


async def list_for_run(f: Fields, b: Backends) -> Reply:
    """GET /api/2.0/mlflow/artifacts/list: a run's artifacts, paths relative to its root."""
    run = (await b.call(rpc.GET_RUN, pb.GetRunRequest(run_id=run_id(f)))).run
    uri = run.info.artifact_uri
    path = clean_path(f.text("path"))
    infos = await _list(b.store(uri), path)
    return {
        "root_uri": b.public_uri(uri),
        "files": [_file_json(i, i.path) for i in infos],
    }


async def file_endpoint(request: Request) -> Response:
    """Download (GET) or upload (PUT) one file under the root."""
    backends: Backends = request.app.state.backends
    try:
        path = clean_path(request.path_params["path"])
        store = backends.store()
        if request.method == "PUT":
            body = await request.body()
            await asyncio.to_thread(store.write_bytes, path, body)
            return JSON({})
        data = await asyncio.to_thread(store.read_bytes, path)
    except SwitchyardError as exc:
        return await errors.on_switchyard_error(request, exc)
    except Exception as exc:
        return await errors.on_unexpected(request, exc)
    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": _attachment(path.rsplit("/", 1)[-1]),
            "X-Content-Type-Options": "nosniff",
        },
    )


def _attachment(name: str) -> str:
    """Content-Disposition for any file name: headers are Latin-1, names are not
    (RFC 6266: an ASCII fallback, and the name itself percent-encoded as UTF-8)."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name)
    encoded = quote(name.encode("utf-8", "surrogatepass"), safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


async def multipart(request: Request) -> Response:
    return errors.error_response(
        "NOT_IMPLEMENTED", "multipart upload is not supported; upload with one PUT", 501
    )


PROXY_ROUTES: list[Route] = [
    route("GET", "/artifacts", list_proxied),
    Route("/artifacts/{path:path}", file_endpoint, methods=["GET", "PUT"]),
    Route("/mpu/{action}/{path:path}", multipart, methods=["POST"]),
]
TRACKING_ROUTES: list[Route] = [route("GET", "/artifacts/list", list_for_run)]
