"""A group of pipelined run writes applied kind by kind: all its creations, then
all its batches, then all its ends, each kind in a few statements for every
run in it.

Applied one by one, a fluent run costs five or six round trips to
PostgreSQL; a group of sixty costs about eight in all. It applies only when
that order is each run's own order (a run's creation, then its batches,
then one end), which fluent runs always are; anything else (a rename, a
run ended twice, a key logged twice to a run) goes write by write. The
events are the ones the write-by-write path writes, in each run's order.
A refusal here (a taken id, a clashing param, a missing run) raises, and
the caller applies the group write by write to find the write refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from switchyard.core import event_types as et
from switchyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.services.tracking import events, metric_ingest, search
from switchyard.services.tracking.states import (
    RUN_NAME_TAG,
    STAGES,
)
from switchyard.services.tracking.store import (
    Made,
    TrackingStore,
    artifact_uri,
    change_kind,
    check_parent,
    creation_tags,
    end_time_of,
    info_of_row,
)
from switchyard.services.tracking.writes import Batch, NewRun, Update, Write

_COLUMNS = ", ".join(search.RUN_ROW)
_R_COLUMNS = ", ".join(f"r.{c}" for c in search.RUN_ROW)
_CREATE, _BATCH, _END = range(3)


def phased(writes: Sequence[Write]) -> bool:
    """Whether applying the group kind by kind keeps every run's order and meaning."""
    stage: dict[uuid.UUID, int] = {}
    keys: dict[uuid.UUID, set[str]] = {}
    for w in writes:
        kind = _CREATE if isinstance(w, NewRun) else _BATCH if isinstance(w, Batch) else _END
        last = stage.get(w.run_id)
        if last is not None and (last > kind or (last == kind and kind != _BATCH)):
            return False
        stage[w.run_id] = kind
        if isinstance(w, Batch):
            if RUN_NAME_TAG in w.tags:
                return False
            seen = keys.setdefault(w.run_id, set())
            named = {f"p:{k}" for k in w.params} | {f"t:{k}" for k in w.tags}
            if not seen.isdisjoint(named):
                return False
            seen |= named
        elif isinstance(w, Update) and w.name is not None:
            return False
    return True


async def apply(
    store: TrackingStore, conn: asyncpg.Connection, made: Made, writes: Sequence[Write]
) -> int:
    """Apply a `phased` group in the caller's transaction; the metric points written."""
    creates = [w for w in writes if isinstance(w, NewRun)]
    batches = [w for w in writes if isinstance(w, Batch)]
    ends = [w for w in writes if isinstance(w, Update)]
    if creates:
        await _create(store, conn, made, creates)
    written = await _log(store, conn, made, batches) if batches else 0
    if ends:
        await _end(store, conn, made, ends)
    return written


async def _create(
    store: TrackingStore, conn: asyncpg.Connection, made: Made, creates: list[NewRun]
) -> None:
    for exp_id in dict.fromkeys(c.experiment_id for c in creates):
        if exp_id not in made.experiments:
            made.experiments[exp_id] = await store.experiments.active(conn, exp_id)
    await _check_parents(conn, made, creates)
    tags = [creation_tags(c.tags, c.name, c.parent) for c in creates]
    rows = await conn.fetch(
        f"INSERT INTO runs ({_COLUMNS}) SELECT id, exp, name, usr, 'RUNNING', st, NULL::bigint,"
        " 'active', uri, parent FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::text[],"
        " $5::int8[], $6::text[], $7::uuid[]) AS t(id, exp, name, usr, st, uri, parent)"
        f" ON CONFLICT (run_id) DO NOTHING RETURNING {_COLUMNS}",
        [c.run_id for c in creates],
        [c.experiment_id for c in creates],
        [c.name for c in creates],
        [c.user_id for c in creates],
        [c.start_time for c in creates],
        [artifact_uri(made.experiments[c.experiment_id], c.run_id) for c in creates],
        [c.parent for c in creates],
    )
    if len(rows) < len(creates):
        raise AlreadyExists("a run id of the group is taken", entity="run")
    await _upsert_tags(conn, [(c.run_id, t) for c, t in zip(creates, tags, strict=True)])
    infos = {r["run_id"]: info_of_row(r) for r in rows}
    for c, run_tags in zip(creates, tags, strict=True):
        info = infos[c.run_id]
        await events.run_changed(store.outbox, conn, et.RUN_CREATED, info, run_tags)
        made.runs[c.run_id] = info
        made.params[c.run_id] = set()


async def _check_parents(conn: asyncpg.Connection, made: Made, creates: list[NewRun]) -> None:
    """A parent must exist in the run's own experiment (made here, earlier, or before)."""
    experiment_of = {c.run_id: c.experiment_id for c in creates}
    experiment_of.update({r: int(i.experiment_id) for r, i in made.runs.items()})
    asked = [c.parent for c in creates if c.parent is not None and c.parent not in experiment_of]
    if asked:
        rows = await conn.fetch(
            "SELECT run_id, experiment_id FROM runs WHERE run_id = ANY($1)", asked
        )
        experiment_of.update({r["run_id"]: r["experiment_id"] for r in rows})
    for c in creates:
        if c.parent is not None:
            check_parent(c.parent, experiment_of.get(c.parent), c.experiment_id)


async def _log(
    store: TrackingStore, conn: asyncpg.Connection, made: Made, batches: list[Batch]
) -> int:
    infos = await _runs(conn, made, [b.run_id for b in batches], lock=False)
    params = [(b.run_id, k, v) for b in batches for k, v in b.params.items()]
    if params:
        await _insert_params(conn, made, sorted(params))
    await _upsert_tags(conn, [(b.run_id, b.tags) for b in batches if b.tags])
    written = await metric_ingest.write_many(conn, [(b.run_id, b.series) for b in batches])
    for b in batches:  # the events of each batch, as log_batch writes them
        info = infos[b.run_id]
        if b.params:
            await events.params_logged(store.outbox, conn, info, b.params)
        if b.tags:
            await events.tags_set(store.outbox, conn, info, b.tags)
        if any(len(s.values) for s in b.series):
            await events.metrics_logged(
                store.outbox, conn, info.run_id, info.experiment_id, b.series
            )
    return written


async def _insert_params(
    conn: asyncpg.Connection, made: Made, params: list[tuple[uuid.UUID, str, str]]
) -> None:
    """Params are immutable: insert, then look for a clash, except on runs this
    transaction made (their only params are the ones it logged, all new keys)."""
    runs, keys, values = await _insert(conn, "params", "DO NOTHING", params)
    if any(r not in made.params for r in runs):
        clash = await conn.fetchval(
            "SELECT p.key FROM params p JOIN unnest($1::uuid[], $2::text[], $3::text[]) n(r, k, v)"
            " ON p.run_id = n.r AND p.key = n.k WHERE p.value <> n.v LIMIT 1",
            runs,
            keys,
            values,
        )
        if clash is not None:  # the write-by-write pass names the run and both values
            raise InvalidArgument(f"param '{clash}' was already logged", field="params")
    for run_id, key, _ in params:
        if run_id in made.params:
            made.params[run_id].add(key)


async def _end(
    store: TrackingStore, conn: asyncpg.Connection, made: Made, ends: list[Update]
) -> None:
    before = await _runs(conn, made, [u.run_id for u in ends], lock=True)
    stamps = [end_time_of(u.status, u.end_time) for u in ends]
    rows = await conn.fetch(
        "UPDATE runs r SET status = coalesce(u.status, r.status),"
        " end_time = coalesce(u.end_time, r.end_time)"
        " FROM unnest($1::uuid[], $2::text[], $3::int8[]) AS u(id, status, end_time)"
        f" WHERE r.run_id = u.id RETURNING {_R_COLUMNS}",
        [u.run_id for u in ends],
        [u.status for u in ends],
        stamps,
    )
    infos = {r["run_id"]: info_of_row(r) for r in rows}
    for u in ends:
        info = infos[u.run_id]
        kind = change_kind(u.status, before[u.run_id])
        await events.run_changed(store.outbox, conn, kind, info, {})
        if u.run_id in made.runs:
            made.runs[u.run_id] = info


async def _runs(
    conn: asyncpg.Connection, made: Made, ids: list[uuid.UUID], *, lock: bool
) -> dict[uuid.UUID, pb.RunInfo]:
    """The active runs `ids` name: those this transaction made as it knows them, the
    others read (locked for an update, in id order so writers cannot deadlock)."""
    found = {r: made.runs[r] for r in ids if r in made.runs}
    asked = sorted({r for r in ids if r not in found})
    if asked:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM runs WHERE run_id = ANY($1) ORDER BY run_id"
            + (" FOR UPDATE" if lock else ""),
            asked,
        )
        found.update({r["run_id"]: info_of_row(r) for r in rows})
    for r in ids:
        if r not in found:
            raise NotFound(f"run '{r.hex}' not found", entity="run")
        if found[r].lifecycle_stage != STAGES["active"]:
            raise FailedPrecondition(f"run '{r.hex}' is deleted", entity="run")
    return found


async def _upsert_tags(
    conn: asyncpg.Connection, tags: Sequence[tuple[uuid.UUID, dict[str, str]]]
) -> None:
    rows = [(run_id, k, v) for run_id, run_tags in tags for k, v in run_tags.items()]
    if rows:
        await _insert(conn, "tags", "(run_id, key) DO UPDATE SET value = EXCLUDED.value", rows)


async def _insert(
    conn: asyncpg.Connection, table: str, on_conflict: str, rows: list[tuple[uuid.UUID, str, str]]
) -> tuple[list[uuid.UUID], list[str], list[str]]:
    """(run, key, value) rows into `params` or `tags` in one statement; the columns."""
    runs, keys, values = (list(column) for column in zip(*rows, strict=True))
    await conn.execute(
        f"INSERT INTO {table} SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])"
        f" ON CONFLICT {on_conflict}",
        runs,
        keys,
        values,
    )
    return runs, keys, values


__all__ = ["apply", "phased"]
