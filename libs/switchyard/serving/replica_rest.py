"""The replica's OIP REST routes, as an `http.Handler`.

    GET  /v2                                   server metadata
    GET  /v2/health/live | /v2/health/ready    {"live": true} / {"ready": ...}
    GET  /v2/models/{name}[/versions/{v}]      model metadata
    GET  /v2/models/{name}[/versions/{v}]/ready
    POST /v2/models/{name}[/versions/{v}]/infer

Errors are `{"error": ...}`: 400 bad request, 404 unknown model, version or
route, 405 wrong method, 500 the model raised, 503 not ready.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from switchyard.serving import oip_rest
from switchyard.serving.http import Request, Response
from switchyard.serving.tensors import BadRequest, InferResponse, NotFoundError

if TYPE_CHECKING:
    from switchyard.serving.replica import Replica

log = logging.getLogger(__name__)

SERVER_VERSION = "1"
_LIVE = Response(200, b'{"live": true}')
_READY = Response(200, b'{"ready": true}')
_NOT_READY = Response(503, b'{"ready": false}')


def _error(status: int, message: str) -> Response:
    return Response(status, oip_rest.error_body(message))


def server_metadata() -> bytes:
    return json.dumps(
        {"name": "switchyard", "version": _version(), "extensions": ["binary_tensor_data"]}
    ).encode()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("switchyard")
    except PackageNotFoundError:
        return SERVER_VERSION


class RestRoutes:
    def __init__(self, replica: Replica) -> None:
        from switchyard.serving.replica import NotReady

        self.replica = replica
        self._not_ready = NotReady
        self._server_metadata = Response(200, server_metadata())

    async def __call__(self, request: Request) -> Response:
        target = oip_rest.model_name_of(request.path)
        if target is None:
            return self._server(request)
        name, version, tail = target
        try:
            model = self.replica.resolve(name, version)
            if tail == "infer":
                if request.method != "POST":
                    return _error(405, "infer takes POST")
                return await self._infer(request, name)
            if request.method != "GET":
                return _error(405, f"{request.path} takes GET")
            if tail == "ready":
                ready = self.replica.ready
                body = json.dumps({"name": name, "ready": ready}).encode()
                return Response(200 if ready else 503, body)
            return Response(
                200,
                oip_rest.encode_model_metadata(
                    name, [model.version], model.platform, model.inputs, model.outputs
                ),
            )
        except BadRequest as exc:
            return _error(400, str(exc))
        except NotFoundError as exc:
            return _error(404, str(exc))
        except self._not_ready as exc:
            return _error(503, str(exc))

    def _server(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path not in ("/v2", "/v2/health/live", "/v2/health/ready"):
            return _error(404, f"no route {request.path}")
        if request.method != "GET":
            return _error(405, f"{request.path} takes GET")
        if path == "/v2/health/live":
            return _LIVE
        if path == "/v2/health/ready":
            return _READY if self.replica.ready else _NOT_READY
        return self._server_metadata

    async def _infer(self, request: Request, name: str) -> Response:
        replica = self.replica
        model, batcher = replica.model, replica.batcher
        assert model is not None and batcher is not None
        length = request.headers.get("inference-header-content-length")
        if length is not None and not length.isdigit():
            raise BadRequest(f"Inference-Header-Content-Length {length!r} is not a length")
        infer = oip_rest.parse_infer(request.body, int(length) if length is not None else None)
        model.check(infer.inputs)
        replica.begin()
        try:
            outputs = await batcher.infer(infer.inputs)
        except Exception as exc:
            log.warning("model raised", exc_info=True)
            return _error(500, f"model '{name}' failed: {type(exc).__name__}: {exc}")
        finally:
            replica.end()
        response = InferResponse(name, model.version, outputs, infer.id)
        body, header_length = oip_rest.encode_infer(response, infer)
        if header_length is None:
            return Response(200, body)
        return Response(
            200,
            body,
            [("inference-header-content-length", str(header_length))],
            "application/octet-stream",
        )
