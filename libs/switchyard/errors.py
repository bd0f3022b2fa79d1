"""Switchyard's error tree, shared by the services and the SDK.

    SwitchyardError
     ├── InvalidArgument      bad input; `.field` names the offending field (also a ValueError)
     ├── NotFound             `.entity` names what was missing
     ├── AlreadyExists
     ├── FailedPrecondition   valid input, wrong state (e.g. deleted run)
     ├── PermissionDenied
     ├── Unauthenticated
     ├── ResourceExhausted
     ├── DeadlineExceeded
     ├── Unavailable          the platform cannot be reached; retry later
     └── Internal             a bug; `.correlation_id` finds it in the logs

Each class carries its gRPC status code. Services raise these; one
interceptor turns them into statuses, and the SDK turns statuses back into
the same classes (`from_rpc_error`), so `except sy.errors.NotFound` works
across the wire. The field, the entity and an internal error's correlation
id travel in trailing metadata (`sy-field`, `sy-entity`, `sy-correlation-id`).
Bad arguments the SDK catches before sending are `InvalidArgument` too.
"""

from __future__ import annotations

import grpc

FIELD_KEY = "sy-field"
ENTITY_KEY = "sy-entity"
CORRELATION_KEY = "sy-correlation-id"


class SwitchyardError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        entity: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.entity = entity
        self.correlation_id = correlation_id


class InvalidArgument(SwitchyardError, ValueError):
    """Also a ValueError, so code that catches Python's error for bad input still does."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(SwitchyardError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(SwitchyardError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(SwitchyardError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(SwitchyardError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(SwitchyardError):
    code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(SwitchyardError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class DeadlineExceeded(SwitchyardError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Unavailable(SwitchyardError):
    code = grpc.StatusCode.UNAVAILABLE


class Internal(SwitchyardError):
    code = grpc.StatusCode.INTERNAL


_BY_CODE: dict[grpc.StatusCode, type[SwitchyardError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        PermissionDenied,
        Unauthenticated,
        ResourceExhausted,
        DeadlineExceeded,
        Unavailable,
        Internal,
    )
}


def trailing_metadata(error: SwitchyardError) -> tuple[tuple[str, str], ...]:
    pairs = []
    if error.field:
        pairs.append((FIELD_KEY, error.field))
    if error.entity:
        pairs.append((ENTITY_KEY, error.entity))
    if error.correlation_id:
        pairs.append((CORRELATION_KEY, error.correlation_id))
    return tuple(pairs)


def from_rpc_error(error: grpc.RpcError) -> SwitchyardError:
    """The SDK's one translation from a gRPC status to the error tree."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = (error.details() if hasattr(error, "details") else None) or str(error)
    trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    # Pairs, not dict(): grpc.aio's Metadata maps keys to (key, value) tuples
    # in grpcio < 1.64, so dict() of it fails there.
    meta = {key: value for key, value in trailing or ()}
    cls = _BY_CODE.get(code, SwitchyardError)
    if code == grpc.StatusCode.UNAVAILABLE and "failed to connect" in details:
        details += _connect_hint(details)
    return cls(
        details,
        field=meta.get(FIELD_KEY),
        entity=meta.get(ENTITY_KEY),
        correlation_id=meta.get(CORRELATION_KEY),
    )


def _connect_hint(details: str) -> str:
    if "handshake" in details.lower() or "CERTIFICATE" in details:
        return (
            " — a TLS handshake failed: does the client trust the platform's CA"
            " (SWITCHYARD_TLS_CA), and does the platform ask for a client certificate"
            " (SWITCHYARD_TLS_CERT, _KEY)?"
        )
    return " — is the platform running? (`switchyard status`)"


def from_status(code: str, message: str, field: str = "") -> SwitchyardError:
    """An item of a batch that failed (its status name, message and field) as the
    error its own call would have raised."""
    status = getattr(grpc.StatusCode, code, grpc.StatusCode.UNKNOWN)
    return _BY_CODE.get(status, SwitchyardError)(message, field=field or None)


__all__ = [
    "CORRELATION_KEY",
    "ENTITY_KEY",
    "FIELD_KEY",
    "AlreadyExists",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "SwitchyardError",
    "Unauthenticated",
    "Unavailable",
    "from_rpc_error",
    "from_status",
]
