"""The audit log: who changed what, written in the transaction of the change.

Every change a service acknowledges writes events through its outbox in the
change's transaction, so the outbox is where the audit row is written too:
`Outbox.add_events` upserts one `audit_records` row per RPC call (the first
write makes it, a later write in the same call adds its entities) in the
same statement as the events, and adds a `sy.audit.recorded` event. A change
without its audit row therefore cannot commit, and a refused call (auth, bad
input, a failed transaction) leaves none. Changes that publish no event
(tokens, queues) call `Outbox.add_audit` for the same.

Who called comes from the call's context: `ErrorInterceptor` starts a `Call`
for each RPC (method, and the servicer context for the peer), the
`AuthInterceptor` has set the principal. Work no RPC started (admission,
reaping, the relay) writes no audit row. A batch written for several callers
passes each caller's `Call` with its events, as it passes their traces.

The table refuses DELETE, and UPDATE of anything but adding entities (a
trigger); no RPC edits it. `SearchAudit` (tracking's AccessService) reads the
`audit_records` of every service's schema.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace

from switchyard.core.auth import PRINCIPAL
from switchyard.core.ids import now_ms, uuid7
from switchyard.proto.v1.access_pb2 import AuditRecord

MIGRATION = (
    "000_audit.sql",
    """
    CREATE TABLE audit_records (
        audit_id     uuid PRIMARY KEY,
        time_ms      bigint NOT NULL,
        actor        text NOT NULL,
        token_id     text NOT NULL,
        project      text NOT NULL,
        method       text NOT NULL,
        entities     text[] NOT NULL,
        event_types  text[] NOT NULL,
        peer         text NOT NULL,
        trace_id     text NOT NULL
    );
    CREATE INDEX audit_records_by_time ON audit_records (time_ms DESC, audit_id DESC);
    CREATE INDEX audit_records_by_entity ON audit_records USING gin (entities);
    CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
            RAISE EXCEPTION 'the audit log is append-only';
        END IF;
        IF (NEW.audit_id, NEW.time_ms, NEW.actor, NEW.token_id, NEW.project, NEW.method,
            NEW.peer, NEW.trace_id)
           IS DISTINCT FROM (OLD.audit_id, OLD.time_ms, OLD.actor, OLD.token_id, OLD.project,
                             OLD.method, OLD.peer, OLD.trace_id)
           OR NEW.entities[1:cardinality(OLD.entities)] IS DISTINCT FROM OLD.entities
           OR NEW.event_types[1:cardinality(OLD.event_types)] IS DISTINCT FROM OLD.event_types
        THEN
            RAISE EXCEPTION 'the audit log is append-only';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
        FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();
    CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
        FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();
    """,
)


@dataclass(eq=False)
class Call:
    """The RPC a change is made for; its audit id is made at its first write."""

    method: str
    context: Any = None  # grpc.aio.ServicerContext, for the peer's address
    audit_id: str = ""
    principal: Any = None  # auth.Principal, read at the call's first write


CALL: contextvars.ContextVar[Call | None] = contextvars.ContextVar("switchyard_call", default=None)


def begin(method: str) -> Call:
    """Start the call's record (the interceptor does, once per RPC)."""
    call = Call(method)
    CALL.set(call)
    return call


def current() -> Call | None:
    call = CALL.get()
    if call is not None and call.principal is None:
        call.principal = PRINCIPAL.get()
    return call


def row(call: Call, entities: Sequence[str], event_types: Sequence[str]) -> AuditRecord:
    """The call's audit row for a write of `entities` (as its event publishes it too)."""
    if not call.audit_id:
        call.audit_id = str(uuid7())
    who = call.principal if call.principal is not None else PRINCIPAL.get()
    span = trace.get_current_span().get_span_context()
    return AuditRecord(
        audit_id=call.audit_id,
        time_ms=now_ms(),
        actor=who.name if who is not None else "anonymous",
        token_id=who.token_id if who is not None else "",
        project=who.project if who is not None else "",
        method=call.method,
        entities=_unique(entities),
        event_types=_unique(event_types),
        peer=_peer(call.context),
        trace_id=f"{span.trace_id:032x}" if span.is_valid else "",
    )


def columns(rows: Sequence[AuditRecord]) -> list[list[Any]]:
    """The statement's arguments: one array per column."""
    return [
        [r.audit_id for r in rows],
        [r.time_ms for r in rows],
        [r.actor for r in rows],
        [r.token_id for r in rows],
        [r.project for r in rows],
        [r.method for r in rows],
        [json.dumps(list(r.entities)) for r in rows],
        [json.dumps(list(r.event_types)) for r in rows],
        [r.peer for r in rows],
        [r.trace_id for r in rows],
    ]


def upsert_sql(first: int) -> str:
    """The audit rows' upsert, parameters $first..$first+9 (jsonb arrays made text[])."""
    p = [f"${first + i}" for i in range(10)]
    return (
        "INSERT INTO audit_records (audit_id, time_ms, actor, token_id, project, method, entities,"
        " event_types, peer, trace_id)"
        " SELECT a, t, ac, tk, pr, m,"
        " ARRAY(SELECT jsonb_array_elements_text(e)), ARRAY(SELECT jsonb_array_elements_text(y)),"
        " pe, tr"
        f" FROM unnest({p[0]}::uuid[], {p[1]}::bigint[], {p[2]}::text[], {p[3]}::text[],"
        f" {p[4]}::text[], {p[5]}::text[], {p[6]}::jsonb[], {p[7]}::jsonb[], {p[8]}::text[],"
        f" {p[9]}::text[]) AS x(a, t, ac, tk, pr, m, e, y, pe, tr)"
        " ON CONFLICT (audit_id) DO UPDATE SET"
        " entities = audit_records.entities || ARRAY(SELECT unnest(EXCLUDED.entities)"
        " EXCEPT SELECT unnest(audit_records.entities)),"
        " event_types = audit_records.event_types || ARRAY(SELECT unnest(EXCLUDED.event_types)"
        " EXCEPT SELECT unnest(audit_records.event_types))"
    )


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _peer(context: Any) -> str:
    if context is None:
        return ""
    try:
        return str(context.peer() or "")
    except Exception:  # a context whose call has ended
        return ""
