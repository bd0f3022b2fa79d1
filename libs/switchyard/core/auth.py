"""Who may call: API tokens, the role each RPC needs, and the one check.

Every service's gRPC server runs `AuthInterceptor` (the runner adds it when
`Settings.auth` is on, so no service can forget it), and the web edge runs
the same `Verifier` on each HTTP request. A call carries
`authorization: Bearer <token>`; the token is looked up by its SHA-256 (the
secret itself is never stored), and the role of its record must be at least
the one the RPC needs (`required_role`): reads need a viewer, writes an
editor, token management an admin.

Verified tokens are cached for `CACHE_S`, so a revoked or expired token is
refused everywhere within that time while a busy client costs one dict
lookup per call. The tracking service keeps the tokens and looks them up in
its store; every other service asks it (`AccessService.WhoAmI`, with the
caller's own token) on a cache miss.
"""

from __future__ import annotations

import contextvars
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc

from switchyard.errors import PermissionDenied, SwitchyardError, Unauthenticated

CACHE_S = 1.0  # how long a verification holds: revocation is seen within this
CACHE_MAX = 10_000  # tokens remembered per process; past it the cache starts over
TOKEN_PREFIX = "syt_"
JWT_ID_PREFIX = "jwt:"  # a Principal's token_id when an OIDC token made it
ALL_PROJECTS = "*"
DEFAULT_PROJECT = "default"

VIEWER, EDITOR, ADMIN = 1, 2, 3
ROLE_NAMES = {VIEWER: "viewer", EDITOR: "editor", ADMIN: "admin"}
ROLES = {name: value for value, name in ROLE_NAMES.items()}

# The caller of the RPC or HTTP request being handled, for what it calls in turn.
CALLER_TOKEN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "switchyard_caller_token", default=None
)
PRINCIPAL: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "switchyard_principal", default=None
)

# Calls anyone may make: health and reflection (a probe carries no token).
OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
# RPCs that need an admin; the rest: reads (by name, `READ_PREFIXES`) a viewer,
# everything else an editor.
ADMIN_RPCS = frozenset(
    {
        "/switchyard.v1.AccessService/CreateToken",
        "/switchyard.v1.AccessService/ListTokens",
        "/switchyard.v1.AccessService/RevokeToken",
        "/switchyard.v1.AccessService/SearchAudit",
    }
)
READ_PREFIXES = ("Get", "List", "Search", "WhoAmI")


@dataclass(frozen=True, slots=True)
class Principal:
    """What a verified token says about its bearer."""

    token_id: str
    name: str
    project: str
    role: int
    expires_ms: int = 0  # 0: never

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, "none")

    @classmethod
    def of(cls, info: Any) -> Principal:
        """From an `access_pb2.TokenInfo` (a token's record, as WhoAmI answers it)."""
        return cls(info.token_id, info.name, info.project, info.role, info.expires_ms)


def new_token() -> str:
    """A fresh secret: 32 random bytes, URL-safe, with a prefix that secret
    scanners (and people) recognise."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """What is stored and looked up. A token has 256 random bits, so a plain
    SHA-256 suffices (a slow password hash protects guessable secrets)."""
    return hashlib.sha256(token.encode()).digest()


def required_role(method: str) -> int | None:
    """The role `/package.Service/Method` needs; None: open to anyone."""
    if method.startswith(OPEN_SERVICES):
        return None
    if method in ADMIN_RPCS:
        return ADMIN
    name = method.rsplit("/", 1)[-1]
    return VIEWER if name.startswith(READ_PREFIXES) else EDITOR


def authorization(token: str) -> tuple[str, str]:
    """The metadata pair (or HTTP header) a call carries its token in."""
    return ("authorization", f"Bearer {token}")


def bearer(value: str | None) -> str | None:
    """The token of an `authorization` value (`Bearer <token>`), else None."""
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


Lookup = Callable[[str], Awaitable[Principal]]


class Verifier:
    """Tokens to principals, cached for `CACHE_S`; `lookup` raises
    Unauthenticated for an unknown, expired or revoked token. `jwt`, when
    set, checks JWTs (OIDC access tokens) here, without asking anyone."""

    def __init__(self, lookup: Lookup | None = None, jwt: Lookup | None = None) -> None:
        self.lookup = lookup
        self.jwt = jwt
        self._seen: dict[str, tuple[float, Principal | SwitchyardError]] = {}

    async def verify(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated(
                "no token: set SWITCHYARD_TOKEN, or call from the platform's home"
                " (`switchyard up` writes its token to $SWITCHYARD_HOME/token)"
            )
        now = time.monotonic()
        seen = self._seen.get(token)
        if seen is None or seen[0] <= now:
            seen = (now + CACHE_S, await self._look_up(token))
            if len(self._seen) >= CACHE_MAX:
                self._seen.clear()
            self._seen[token] = seen
        found = seen[1]
        if isinstance(found, SwitchyardError):
            raise found
        if found.expires_ms and found.expires_ms <= time.time() * 1000:
            raise Unauthenticated(f"token {found.token_id} has expired")
        return found

    async def _look_up(self, token: str) -> Principal | SwitchyardError:
        lookup = self.lookup
        if self.jwt is not None and not token.startswith(TOKEN_PREFIX) and token.count(".") == 2:
            lookup = self.jwt
        if lookup is None:
            raise RuntimeError("the verifier has no lookup yet")
        try:
            return await lookup(token)
        except (Unauthenticated, PermissionDenied) as exc:
            return exc  # remembered too: a flood of bad tokens costs one lookup a second


def authorize(principal: Principal, needs: int, method: str) -> None:
    if principal.role < needs:
        raise PermissionDenied(
            f"{method.rsplit('/', 1)[-1]} needs the {ROLE_NAMES[needs]} role;"
            f" token {principal.token_id} ({principal.name}) is a {principal.role_name}"
        )


def metadata_token(details: grpc.HandlerCallDetails) -> str | None:
    for key, value in details.invocation_metadata or ():
        if key == "authorization":
            return bearer(value if isinstance(value, str) else value.decode())
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """The one check on every gRPC call: a token, verified, with the role the
    RPC needs. A refused call never reaches its handler."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = details.method
        needs = required_role(method)
        if needs is None:
            return await continuation(details)
        token = metadata_token(details)
        try:
            principal = await self.verifier.verify(token)
            authorize(principal, needs, method)
        except SwitchyardError as exc:
            handler = await continuation(details)
            return _refusal(handler, exc) if handler is not None else handler
        # The handler runs in this task: what it calls in turn can see who called.
        CALLER_TOKEN.set(token)
        PRINCIPAL.set(principal)
        return await continuation(details)


def _refusal(handler: grpc.RpcMethodHandler, error: SwitchyardError) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that only refuses."""

    async def refuse(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(error.code, error.message)

    async def refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(error.code, error.message)
        yield  # pragma: no cover - makes this an async generator

    kinds = {
        "unary_unary": grpc.unary_unary_rpc_method_handler,
        "stream_unary": grpc.stream_unary_rpc_method_handler,
        "unary_stream": grpc.unary_stream_rpc_method_handler,
        "stream_stream": grpc.stream_stream_rpc_method_handler,
    }
    for kind, make in kinds.items():
        if getattr(handler, kind) is not None:
            behavior = refuse_stream if kind.endswith("_stream") else refuse
            return make(  # type: ignore[no-any-return]
                behavior,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
    return handler
