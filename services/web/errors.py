"""The one place where errors become MLflow's error JSON and HTTP status.

    switchyard.errors class        MLflow error_code            HTTP
    InvalidArgument                INVALID_PARAMETER_VALUE      400
    NotFound                       RESOURCE_DOES_NOT_EXIST      404
    AlreadyExists                  RESOURCE_ALREADY_EXISTS      400
    FailedPrecondition             INVALID_STATE                400
    PermissionDenied               PERMISSION_DENIED            403
    Unauthenticated                UNAUTHENTICATED              401
    ResourceExhausted              RESOURCE_EXHAUSTED           429
    DeadlineExceeded               DEADLINE_EXCEEDED            504
    Unavailable                    TEMPORARILY_UNAVAILABLE      503
    Internal / anything else       INTERNAL_ERROR               500
    no such route                  ENDPOINT_NOT_FOUND           404

Bad input is never a 5xx: the MLflow client retries 5xx. Unknown exceptions
are logged with a correlation id and answered without a traceback.
"""

from __future__ import annotations

import logging
import uuid

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from switchyard.errors import (
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    SwitchyardError,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger(__name__)

_CODES: dict[type[SwitchyardError], tuple[str, int]] = {
    InvalidArgument: ("INVALID_PARAMETER_VALUE", 400),
    NotFound: ("RESOURCE_DOES_NOT_EXIST", 404),
    AlreadyExists: ("RESOURCE_ALREADY_EXISTS", 400),
    # MLflow answers a write to a deleted run with INVALID_PARAMETER_VALUE-like 400s;
    # a wrong state is the caller's to fix, so never a retried 5xx.
    FailedPrecondition: ("INVALID_STATE", 400),
    PermissionDenied: ("PERMISSION_DENIED", 403),
    Unauthenticated: ("UNAUTHENTICATED", 401),
    ResourceExhausted: ("RESOURCE_EXHAUSTED", 429),
    DeadlineExceeded: ("DEADLINE_EXCEEDED", 504),
    Unavailable: ("TEMPORARILY_UNAVAILABLE", 503),
}


def error_response(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=status)


async def on_switchyard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SwitchyardError)
    for cls in type(exc).__mro__:
        if cls in _CODES:
            code, status = _CODES[cls]  # type: ignore[index]
            return error_response(code, exc.message, status)
    return await on_unexpected(request, exc)


API_PREFIXES = ("/api/", "/ajax-api/")


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and not request.url.path.startswith(API_PREFIXES):
        from switchyard.services.web.ui.render import not_found  # a person's browser

        return not_found(request, f"no page at {request.url.path}")
    if exc.status_code in (404, 405):
        return error_response(
            "ENDPOINT_NOT_FOUND", f"no endpoint {request.method} {request.url.path}", 404
        )
    return error_response("BAD_REQUEST", str(exc.detail), exc.status_code)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # A service's INTERNAL error keeps the id its logs have (switchyard.errors.Internal).
    correlation_id = getattr(exc, "correlation_id", None) or uuid.uuid4().hex
    log.error(
        "unexpected error",
        exc_info=exc,
        extra={"correlation_id": correlation_id, "path": request.url.path},
    )
    return error_response(
        "INTERNAL_ERROR", f"internal error (correlation id {correlation_id})", 500
    )
