"""API tokens: all their SQL (see switchyard.core.auth for what they mean)."""

from __future__ import annotations

import secrets

import asyncpg

from switchyard.core.auth import new_token, token_hash
from switchyard.core.db import Database
from switchyard.core.ids import now_ms
from switchyard.core.outbox import Outbox
from switchyard.errors import NotFound, Unauthenticated
from switchyard.proto.v1 import access_pb2 as pb

_COLUMNS = (
    "token_id, name, project, role, created_ms, expires_ms, revoked_ms, created_by, last_used_ms"
)
PLATFORM_TOKEN_NAME = "platform"  # the token `switchyard up` made (or SWITCHYARD_TOKEN)
# What an audit row of a token change names (tokens publish no events of their own).
TOKEN_CREATED = "sy.access.token.created"
TOKEN_REVOKED = "sy.access.token.revoked"
LAST_USED_RESOLUTION_MS = 1000  # last_used_ms is written at most once a second per token


def _info(row: asyncpg.Record) -> pb.TokenInfo:
    return pb.TokenInfo(
        token_id=row["token_id"],
        name=row["name"],
        project=row["project"],
        role=row["role"],
        created_ms=row["created_ms"],
        expires_ms=row["expires_ms"],
        revoked_ms=row["revoked_ms"],
        created_by=row["created_by"],
        last_used_ms=row["last_used_ms"],
    )


class TokenStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox  # tokens publish no events, but their changes are audited

    async def ensure_platform_token(self, token: str, project: str) -> None:
        """The platform's own admin token, known before anyone can make one."""
        await self.db.pool.execute(
            "INSERT INTO api_tokens (token_id, token_hash, name, project, role, created_ms)"
            " VALUES ($1, $2, $3, $4, 3, $5) ON CONFLICT (token_hash) DO NOTHING",
            secrets.token_hex(8),
            token_hash(token),
            PLATFORM_TOKEN_NAME,
            project,
            now_ms(),
        )

    async def create(
        self, name: str, project: str, role: int, expires_ms: int, created_by: str
    ) -> tuple[pb.TokenInfo, str]:
        token = new_token()
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "INSERT INTO api_tokens (token_id, token_hash, name, project, role, created_ms,"
                " expires_ms, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                f" RETURNING {_COLUMNS}",
                secrets.token_hex(8),
                token_hash(token),
                name,
                project,
                role,
                now_ms(),
                expires_ms,
                created_by,
            )
            await self.outbox.add_audit(conn, [row["token_id"]], TOKEN_CREATED)
        return _info(row), token

    async def list(self, include_revoked: bool) -> list[pb.TokenInfo]:
        where = "" if include_revoked else " WHERE revoked_ms = 0"
        rows = await self.db.pool.fetch(
            f"SELECT {_COLUMNS} FROM api_tokens{where} ORDER BY created_ms DESC, token_id"
        )
        return [_info(r) for r in rows]

    async def revoke(self, token_id: str) -> pb.TokenInfo:
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE api_tokens SET revoked_ms = CASE WHEN revoked_ms = 0 THEN $2"
                f" ELSE revoked_ms END WHERE token_id = $1 RETURNING {_COLUMNS}",
                token_id,
                now_ms(),
            )
            if row is None:
                raise NotFound(f"no token with id {token_id!r}", entity="token")
            await self.outbox.add_audit(conn, [token_id], TOKEN_REVOKED)
        return _info(row)

    async def info(self, token: str) -> pb.TokenInfo:
        """The record of a usable token (Unauthenticated otherwise); notes its use."""
        now, hashed = now_ms(), token_hash(token)
        row = await self.db.pool.fetchrow(
            "UPDATE api_tokens SET last_used_ms = $2::bigint WHERE token_hash = $1"
            f" AND last_used_ms < $2::bigint - {LAST_USED_RESOLUTION_MS} RETURNING {_COLUMNS}",
            hashed,
            now,
        ) or await self.db.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM api_tokens WHERE token_hash = $1", hashed
        )
        if row is None:
            raise Unauthenticated("unknown token")
        if row["revoked_ms"]:
            raise Unauthenticated(f"token {row['token_id']} was revoked")
        if row["expires_ms"] and row["expires_ms"] <= now:
            raise Unauthenticated(f"token {row['token_id']} has expired")
        return _info(row)
