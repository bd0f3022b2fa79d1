"""API tokens through the SDK: `Client.create_token`, `list_tokens`,
`revoke_token`, `whoami` (and their async twins) build these ops."""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.core.auth import ROLE_NAMES, ROLES
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import access_pb2 as pb
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
