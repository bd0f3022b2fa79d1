"""API tokens and the audit log through the SDK: `Client.create_token`,
`list_tokens`, `revoke_token`, `whoami`, `search_audit` (and their async
twins) build these ops."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from switchyard.core.auth import ROLE_NAMES, ROLES
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import access_pb2 as pb
from switchyard.sdk.entities import PagedList
from switchyard.sdk.rpcs import Op
from switchyard.sdk.rpcs import access as rpc


@dataclass(frozen=True)
class Token:
    """A token's record; its secret is shown once, by `create_token`."""

    token_id: str
    name: str
    project: str
    role: str  # "viewer", "editor" or "admin"
    created_ms: int
    expires_ms: int  # 0: never
    revoked_ms: int  # 0: not revoked
    created_by: str
    last_used_ms: int

    @classmethod
    def from_proto(cls, info: pb.TokenInfo) -> Token:
        return cls(
            info.token_id,
            info.name,
            info.project,
            ROLE_NAMES.get(info.role, "none"),
            info.created_ms,
            info.expires_ms,
            info.revoked_ms,
            info.created_by,
            info.last_used_ms,
        )


@dataclass(frozen=True)
class NewToken:
    info: Token
    secret: str  # the bearer token itself: shown this once, stored nowhere

    def __repr__(self) -> str:
        return f"NewToken(info={self.info!r}, secret='***')"


def create_token(
    name: str, role: str = "viewer", project: str = "default", expires_in_s: int = 0
) -> Op[NewToken]:
    if role not in ROLES:
        raise InvalidArgument(f"role must be one of {', '.join(ROLES)}", field="role")
    req = pb.CreateTokenRequest(
        name=name,
        project=project,
        role=pb.Role.ValueType(ROLES[role]),
        expires_in_s=int(expires_in_s),
    )
    return Op(rpc.CREATE_TOKEN, req, lambda r: NewToken(Token.from_proto(r.info), r.token))


def list_tokens(include_revoked: bool = False) -> Op[list[Token]]:
    req = pb.ListTokensRequest(include_revoked=include_revoked)
    return Op(rpc.LIST_TOKENS, req, lambda r: [Token.from_proto(t) for t in r.tokens])


def revoke_token(token_id: str) -> Op[Token]:
    req = pb.RevokeTokenRequest(token_id=token_id)
    return Op(rpc.REVOKE_TOKEN, req, lambda r: Token.from_proto(r.info))


def whoami() -> Op[Token]:
    return Op(rpc.WHO_AM_I, pb.WhoAmIRequest(), lambda r: Token.from_proto(r.info))


@dataclass(frozen=True)
class AuditRecord:
    """One acknowledged change: who made it, through which call, what it changed."""

    audit_id: str
    time_ms: int
    service: str
    actor: str  # the token's name; "anonymous" on a platform without authentication
    token_id: str
    project: str
    method: str  # the RPC: /switchyard.v1.SchedulerService/SubmitJob
    entities: tuple[str, ...]  # the ids of what changed
    event_types: tuple[str, ...]
    peer: str
    trace_id: str

    @classmethod
    def from_proto(cls, r: pb.AuditRecord) -> AuditRecord:
        return cls(
            r.audit_id,
            r.time_ms,
            r.service,
            r.actor,
            r.token_id,
            r.project,
            r.method,
            tuple(r.entities),
            tuple(r.event_types),
            r.peer,
            r.trace_id,
        )


def search_audit(
    project: str | None,
    actor: str | None,
    entity: str | None,
    since: datetime | int | None,
    limit: int,
    page_token: str | None,
) -> Op[PagedList[AuditRecord]]:
    if isinstance(since, datetime):
        since = int(since.timestamp() * 1000)
    req = pb.SearchAuditRequest(
        project=project or "",
        actor=actor or "",
        entity=entity or "",
        since_ms=since or 0,
        limit=limit,
        page_token=page_token or "",
    )
    return Op(
        rpc.SEARCH_AUDIT,
        req,
        lambda r: PagedList([AuditRecord.from_proto(x) for x in r.records], r.next_page_token),
    )
