"""AccessService over gRPC: API tokens (kept here, checked by every service)."""

from __future__ import annotations

import re
from typing import TypeAlias

import grpc

from switchyard.core.auth import (
    ALL_PROJECTS,
    CALLER_TOKEN,
    DEFAULT_PROJECT,
    JWT_ID_PREFIX,
    PRINCIPAL,
    ROLE_NAMES,
    Principal,
)
from switchyard.core.ids import now_ms
from switchyard.errors import InvalidArgument, Unauthenticated
from switchyard.proto.v1 import access_pb2 as pb
from switchyard.proto.v1 import access_pb2_grpc as rpc
from switchyard.services.tracking.audit_store import AuditStore
from switchyard.services.tracking.token_store import TokenStore

Ctx: TypeAlias = grpc.aio.ServicerContext
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
TOKEN_ID = re.compile(r"^[0-9a-f]{16}$")
MAX_EXPIRY_S = 10 * 365 * 86400
DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE = 100, 1000


def _project(value: str) -> str:
    project = value or DEFAULT_PROJECT
    # Entities do not belong to projects yet: every one is in "default", so a
    # token for another project could read nothing and is refused rather
    # than made to look useful.
    if project not in (DEFAULT_PROJECT, ALL_PROJECTS):
        raise InvalidArgument(
            f"project must be {DEFAULT_PROJECT!r} (or {ALL_PROJECTS!r} for every project):"
            " other projects come with projects of their own",
            field="project",
        )
    return project


class AccessServicer(rpc.AccessServiceServicer):
    def __init__(self, tokens: TokenStore, audit: AuditStore) -> None:
        self.tokens = tokens
        self.audit = audit

    async def CreateToken(
        self, request: pb.CreateTokenRequest, context: Ctx
    ) -> pb.CreateTokenResponse:
        if not NAME.match(request.name):
            raise InvalidArgument(
                "name must be 1-100 letters, digits, '.', '_', '@' or '-', starting with a"
                f" letter or digit (got {request.name!r})",
                field="name",
            )
        if request.role not in ROLE_NAMES:
            raise InvalidArgument(
                f"role must be one of {', '.join(ROLE_NAMES.values())}", field="role"
            )
        if not 0 <= request.expires_in_s <= MAX_EXPIRY_S:
            raise InvalidArgument(
                f"expires_in_s must be between 0 (never) and {MAX_EXPIRY_S}", field="expires_in_s"
            )
        project = _project(request.project)
        caller = PRINCIPAL.get()
        expires = now_ms() + request.expires_in_s * 1000 if request.expires_in_s else 0
        info, token = await self.tokens.create(
            request.name, project, request.role, expires, caller.token_id if caller else ""
        )
        return pb.CreateTokenResponse(info=info, token=token)

    async def ListTokens(
        self, request: pb.ListTokensRequest, context: Ctx
    ) -> pb.ListTokensResponse:
        return pb.ListTokensResponse(tokens=await self.tokens.list(request.include_revoked))

    async def RevokeToken(
        self, request: pb.RevokeTokenRequest, context: Ctx
    ) -> pb.RevokeTokenResponse:
        if not TOKEN_ID.match(request.token_id):
            raise InvalidArgument(
                f"token_id must be 16 hex digits (as `tokens ls` shows), got {request.token_id!r}",
                field="token_id",
            )
        return pb.RevokeTokenResponse(info=await self.tokens.revoke(request.token_id))

    async def WhoAmI(self, request: pb.WhoAmIRequest, context: Ctx) -> pb.WhoAmIResponse:
        # The interceptor verified the token (from the cache, maybe): read it anew,
        # so a service asking on a cache miss of its own sees a revocation at once.
        token, caller = CALLER_TOKEN.get(), PRINCIPAL.get()
        if not token or caller is None:  # authentication is off: nobody in particular
            raise Unauthenticated("this platform runs without authentication (--insecure)")
        if caller.token_id.startswith(JWT_ID_PREFIX):  # an OIDC token: its claims say it all
            return pb.WhoAmIResponse(info=_from_principal(caller))
        return pb.WhoAmIResponse(info=await self.tokens.info(token))

    async def SearchAudit(
        self, request: pb.SearchAuditRequest, context: Ctx
    ) -> pb.SearchAuditResponse:
        if not 0 <= request.limit <= MAX_AUDIT_PAGE:
            raise InvalidArgument(f"limit must be 0..{MAX_AUDIT_PAGE}", field="limit")
        if request.since_ms < 0:
            raise InvalidArgument("since_ms must not be negative", field="since_ms")
        return await self.audit.search(request, request.limit or DEFAULT_AUDIT_PAGE)


def _from_principal(caller: Principal) -> pb.TokenInfo:
    return pb.TokenInfo(
        token_id=caller.token_id,
        name=caller.name,
        project=caller.project,
        role=pb.Role.ValueType(caller.role),
        expires_ms=caller.expires_ms,
    )
