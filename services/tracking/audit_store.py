"""SearchAudit's SQL: the audit logs of every service, newest first.

Each service writes its own `audit_records` in its own schema, in the
transaction of each change (switchyard.core.audit); the platform's services
share one PostgreSQL database, so tracking reads them together. A service
that never started has no table yet and is left out. Pages are keyed on
(time, id): a page token is the last record's `time_ms.audit_id`.
"""

from __future__ import annotations

import re
import uuid

import asyncpg

from switchyard.core.db import Database
from switchyard.core.sql_params import SqlParams
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import access_pb2 as pb

AUDITED_SERVICES = ("tracking", "registry", "scheduler", "tuner", "gateway")
_TOKEN = re.compile(r"^(\d{1,15})\.([0-9a-f-]{36})$")


class AuditStore:
    def __init__(self, db: Database, schemas: dict[str, str]) -> None:
        self.db = db
        self.schemas = schemas  # service -> its schema

    async def search(self, req: pb.SearchAuditRequest, limit: int) -> pb.SearchAuditResponse:
        q = SqlParams()
        where = []
        if req.project:
            where.append(f"project = {q.add(req.project, 'text')}")
        if req.actor:
            where.append(f"actor = {q.add(req.actor, 'text')}")
        if req.entity:
            where.append(f"entities @> ARRAY[{q.add(req.entity, 'text')}]")
        if req.since_ms:
            where.append(f"time_ms >= {q.add(req.since_ms, 'bigint')}")
        if req.page_token:
            time_ms, audit_id = _after(req.page_token)
            where.append(
                f"(time_ms, audit_id) < ({q.add(time_ms, 'bigint')}, {q.add(audit_id, 'uuid')})"
            )
        cond = f" WHERE {' AND '.join(where)}" if where else ""
        present = await self._present()
        if not present:
            return pb.SearchAuditResponse()
        parts = [
            f"(SELECT '{service}' AS service, * FROM {schema}.audit_records{cond}"
            f" ORDER BY time_ms DESC, audit_id DESC LIMIT {limit + 1})"
            for service, schema in present
        ]
        sql = " UNION ALL ".join(parts) + f" ORDER BY time_ms DESC, audit_id DESC LIMIT {limit + 1}"
        rows = await self.db.pool.fetch(sql, *q.args)
        more = len(rows) > limit
        rows = rows[:limit]
        token = f"{rows[-1]['time_ms']}.{rows[-1]['audit_id']}" if more else ""
        return pb.SearchAuditResponse(records=[_record(r) for r in rows], next_page_token=token)

    async def _present(self) -> list[tuple[str, str]]:
        """(service, quoted schema) of the audit logs that exist."""
        found = await self.db.pool.fetch(
            "SELECT s.service, s.schema FROM unnest($1::text[], $2::text[]) AS s(service, schema)"
            " WHERE to_regclass(quote_ident(s.schema) || '.audit_records') IS NOT NULL",
            list(self.schemas),
            list(self.schemas.values()),
        )
        return [(r["service"], _quoted(r["schema"])) for r in found]


def _after(token: str) -> tuple[int, uuid.UUID]:
    m = _TOKEN.match(token)
    if m is None:
        raise InvalidArgument("page_token is not one this search returned", field="page_token")
    return int(m.group(1)), uuid.UUID(m.group(2))


def _quoted(schema: str) -> str:
    return '"' + schema.replace('"', '""') + '"'


def _record(r: asyncpg.Record) -> pb.AuditRecord:
    return pb.AuditRecord(
        audit_id=str(r["audit_id"]),
        time_ms=r["time_ms"],
        service=r["service"],
        actor=r["actor"],
        token_id=r["token_id"],
        project=r["project"],
        method=r["method"],
        entities=list(r["entities"]),
        event_types=list(r["event_types"]),
        peer=r["peer"],
        trace_id=r["trace_id"],
    )
