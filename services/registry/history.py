"""The audit history: one append-only row per change, written in its transaction.

The database refuses UPDATE, DELETE and TRUNCATE on `audit_log` (a trigger in
migration 001), so an entry, once committed, is what happened. Entries keep
the model's id and its name at the time, so a history survives renames and
a deleted model's history can still be read by its last name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from switchyard.core.ids import now_ms
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import registry_pb2 as pb


@dataclass(frozen=True)
class Change:
    action: str
    version: int | None = None
    alias: str | None = None
    from_version: int | None = None
    to_version: int | None = None
    from_stage: str | None = None
    to_stage: str | None = None
    detail: str = ""


async def append(
    conn: asyncpg.Connection, model_id: int, name: str, actor: str, *changes: Change
) -> None:
    when = now_ms()
    await conn.executemany(
        "INSERT INTO audit_log (model_id, name, actor, time_ms, action, version, alias,"
        " from_version, to_version, from_stage, to_stage, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        [
            (
                model_id,
                name,
                actor,
                when,
                c.action,
                c.version,
                c.alias,
                c.from_version,
                c.to_version,
                c.from_stage,
                c.to_stage,
                c.detail,
            )
            for c in changes
        ],
    )


def _entry(row: Mapping[str, object]) -> pb.ModelHistoryEntry:
    entry = pb.ModelHistoryEntry(
        id=int(row["entry_id"]),  # type: ignore[call-overload]
        name=str(row["name"]),
        actor=str(row["actor"]),
        timestamp=int(row["time_ms"]),  # type: ignore[call-overload]
        action=str(row["action"]),
        detail=str(row["detail"]),
    )
    for column in ("version", "from_version", "to_version"):
        if row[column] is not None:
            setattr(entry, column, int(row[column]))  # type: ignore[call-overload]
    for column in ("alias", "from_stage", "to_stage"):
        if row[column] is not None:
            setattr(entry, column, str(row[column]))
    return entry


async def read(
    conn: asyncpg.Connection, model_id: int, page_token: str, limit: int
) -> tuple[list[pb.ModelHistoryEntry], str]:
    """Entries oldest first; the token is the last entry id returned."""
    after = 0
    if page_token:
        if not page_token.isdigit() or len(page_token) > 18:
            raise InvalidArgument(
                "page_token is not valid; start again without it", field="page_token"
            )
        after = int(page_token)
    rows = await conn.fetch(
        "SELECT * FROM audit_log WHERE model_id = $1 AND entry_id > $2 ORDER BY entry_id LIMIT $3",
        model_id,
        after,
        limit + 1,
    )
    entries = [_entry(r) for r in rows[:limit]]
    token = str(entries[-1].id) if len(rows) > limit else ""
    return entries, token


async def last_model_id(conn: asyncpg.Connection, name: str) -> int | None:
    """The id of the last model that had `name` (for a deleted model's history)."""
    value = await conn.fetchval(
        "SELECT model_id FROM audit_log WHERE name = $1 ORDER BY entry_id DESC LIMIT 1", name
    )
    return None if value is None else int(value)
