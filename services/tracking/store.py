"""All SQL for runs (experiments: experiment_store.py; metric points: metric_store.py).

Each write is one transaction that also writes its events to the outbox;
reads return protobuf entities, the service's domain types.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from switchyard.core import event_types as et
from switchyard.core.db import Database
from switchyard.core.ids import now_ms
from switchyard.core.outbox import Outbox
from switchyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.services.tracking import events, search
from switchyard.services.tracking.experiment_store import ExperimentStore
from switchyard.services.tracking.metric_store import MetricStore
from switchyard.services.tracking.states import (
    PARENT_TAG,
    RUN_NAME_TAG,
    STAGES,
    STATUS_NAMES,
    STATUS_VALUES,
    TERMINAL,
    VIEWS,
)

_RUN_COLUMNS = ", ".join(search.RUN_ROW)


def info_of_row(row: Mapping[str, object]) -> pb.RunInfo:
    info = pb.RunInfo(
        run_id=row["run_id"].hex,  # type: ignore[attr-defined]
        run_name=str(row["name"]),
        experiment_id=str(row["experiment_id"]),
        user_id=str(row["user_id"]),
        status=STATUS_VALUES[str(row["status"])],
        start_time=int(row["start_time"]),  # type: ignore[call-overload]
        artifact_uri=str(row["artifact_uri"]),
        lifecycle_stage=STAGES[str(row["lifecycle_stage"])],
        parent_run_id=row["parent_run_id"].hex if row["parent_run_id"] else "",  # type: ignore[attr-defined]
    )
    if row["end_time"] is not None:
        info.end_time = int(row["end_time"])  # type: ignore[call-overload]
    return info


# One row per (run, kind) with the keys and values as arrays, so a page of
# 100 runs decodes ~300 rows of arrays instead of ~1,600 records, in one
# round trip. Dataset inputs (rare) come as JSON texts, in dataset order.
_PARAMS, _TAGS, _METRICS, _INPUTS = range(4)
_RUN_DATA = f"""
SELECT run_id, {_PARAMS} AS kind, array_agg(key) AS keys, array_agg(value) AS texts,
       NULL::float8[] AS nums, NULL::int8[] AS steps, NULL::int8[] AS stamps
FROM params WHERE run_id = ANY($1) GROUP BY run_id
UNION ALL
SELECT run_id, {_TAGS}, array_agg(key), array_agg(value), NULL, NULL, NULL
FROM tags WHERE run_id = ANY($1) GROUP BY run_id
UNION ALL
SELECT run_id, {_METRICS}, array_agg(key ORDER BY key), NULL, array_agg(value ORDER BY key),
       array_agg(step ORDER BY key), array_agg(timestamp_ms ORDER BY key)
FROM latest_metrics WHERE run_id = ANY($1) GROUP BY run_id
UNION ALL
SELECT i.run_id, {_INPUTS}, NULL,
       array_agg(json_build_object('tags', i.tags, 'dataset', json_build_object(
           'name', d.name, 'digest', d.digest, 'source_type', d.source_type,
           'source', d.source, 'schema', d.schema, 'profile', d.profile))::text
         ORDER BY d.dataset_id),
       NULL, NULL, NULL
FROM run_inputs i JOIN datasets d USING (dataset_id) WHERE i.run_id = ANY($1) GROUP BY i.run_id
"""


def _fill(run: pb.Run, r: Mapping[str, Any]) -> None:
    """Add one `_RUN_DATA` row to its run.

    Item by item on purpose: a protobuf map's `update()` goes through Python's
    MutableMapping and `extend()` through a generator, each ~2x slower, and a
    search page builds ~1,500 entries.
    """
    kind = r["kind"]
    if kind == _PARAMS or kind == _TAGS:
        entries = run.data.params if kind == _PARAMS else run.data.tags
        for key, text in zip(r["keys"], r["texts"], strict=True):
            entries[key] = text
    elif kind == _METRICS:
        add = run.data.metrics.add
        for k, v, st, ts in zip(r["keys"], r["nums"], r["steps"], r["stamps"], strict=True):
            add(key=k, value=v, step=st, timestamp=ts)
    else:
        for text in r["texts"]:
            item = json.loads(text)
            run.inputs.dataset_inputs.add(dataset=pb.Dataset(**item["dataset"]), tags=item["tags"])


# The rules a run's creation and end follow, one write or a group of them.


def creation_tags(tags: Mapping[str, str], name: str, parent: uuid.UUID | None) -> dict[str, str]:
    """A new run's tags: its own, its name's and its parent's, as MLflow keeps them."""
    out = dict(tags)
    if parent is not None:
        out[PARENT_TAG] = parent.hex
    out[RUN_NAME_TAG] = name
    return out


def artifact_uri(experiment: pb.Experiment, run_id: uuid.UUID) -> str:
    return f"{experiment.artifact_location}/{run_id.hex}/artifacts"


def check_parent(parent: uuid.UUID, parent_experiment: int | None, experiment_id: int) -> None:
    """A parent run must exist, in its child's experiment."""
    if parent_experiment is None:
        raise NotFound(f"parent run '{parent.hex}' not found", entity="run")
    if parent_experiment != experiment_id:
        raise InvalidArgument(
            "parent_run_id must be a run of the same experiment", field="parent_run_id"
        )


def end_time_of(status: str | None, end_time: int | None) -> int | None:
    """A run that reaches a terminal status without an end time ends now."""
    return now_ms() if end_time is None and status in TERMINAL else end_time


def change_kind(status: str | None, before: pb.RunInfo) -> et.EventType:
    """An update that first brings a run to a terminal status finishes it."""
    finished = status in TERMINAL and STATUS_NAMES.get(before.status) not in TERMINAL
    return et.RUN_FINISHED if finished else et.RUN_UPDATED


@dataclass(eq=False)
class Made:
    """What one transaction of pipelined writes made or read, so its later writes
    need not read it again: the runs it created (active, and locked by it until
    it commits, so nobody else changes them), the param keys it logged to them,
    and the experiments it found active."""

    runs: dict[uuid.UUID, pb.RunInfo] = field(default_factory=dict)
    params: dict[uuid.UUID, set[str]] = field(default_factory=dict)
    experiments: dict[int, pb.Experiment] = field(default_factory=dict)


class TrackingStore:
    def __init__(self, db: Database, outbox: Outbox, artifact_root: str) -> None:
        self.db = db
        self.outbox = outbox
        self.experiments = ExperimentStore(db, outbox, artifact_root)
        self.metrics = MetricStore()

    async def create_run(
        self,
        run_id: uuid.UUID,
        exp_id: int,
        name: str,
        user_id: str,
        start_time: int,
        tags: Mapping[str, str],
        parent: uuid.UUID | None,
    ) -> pb.Run:
        async with self.db.pool.acquire() as conn, conn.transaction():
            return await self.create_run_in(
                conn, run_id, exp_id, name, user_id, start_time, tags, parent
            )

    async def create_run_in(
        self,
        conn: asyncpg.Connection,
        run_id: uuid.UUID,
        exp_id: int,
        name: str,
        user_id: str,
        start_time: int,
        tags: Mapping[str, str],
        parent: uuid.UUID | None,
        made: Made | None = None,
    ) -> pb.Run:
        """`create_run` inside the caller's transaction (pipelined writes share one)."""
        experiment = made.experiments.get(exp_id) if made else None
        if experiment is None:
            experiment = await self.experiments.active(conn, exp_id)
            if made:
                made.experiments[exp_id] = experiment
        if parent is not None:
            parent_exp = await conn.fetchval(
                "SELECT experiment_id FROM runs WHERE run_id = $1", parent
            )
            check_parent(parent, parent_exp, exp_id)
        tags = creation_tags(tags, name, parent)
        # ON CONFLICT: a client-made id that is taken (a stream sent twice) must
        # not abort the caller's transaction, only be refused.
        row = await conn.fetchrow(
            f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ($1, $2, $3, $4, 'RUNNING', $5, NULL,"
            f" 'active', $6, $7) ON CONFLICT (run_id) DO NOTHING RETURNING {_RUN_COLUMNS}",
            run_id,
            exp_id,
            name,
            user_id,
            start_time,
            artifact_uri(experiment, run_id),
            parent,
        )
        if row is None:
            raise AlreadyExists(f"run '{run_id.hex}' already exists", entity="run")
        await self._upsert_tags(conn, run_id, tags)
        info = info_of_row(row)
        await events.run_changed(self.outbox, conn, et.RUN_CREATED, info, tags)
        if made:
            made.runs[run_id] = info
            made.params[run_id] = set()
        return pb.Run(info=info, data=pb.RunData(tags=tags))

    async def run_info(
        self, conn: asyncpg.Connection, run_id: uuid.UUID, *, lock: bool = False
    ) -> pb.RunInfo:
        row = await conn.fetchrow(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = $1{' FOR UPDATE' if lock else ''}",
            run_id,
        )
        if row is None:
            raise NotFound(f"run '{run_id.hex}' not found", entity="run")
        return info_of_row(row)

    async def active_run(self, conn: asyncpg.Connection, run_id: uuid.UUID) -> pb.RunInfo:
        info = await self.run_info(conn, run_id)
        if info.lifecycle_stage != cpb.LIFECYCLE_STAGE_ACTIVE:
            raise FailedPrecondition(
                f"run '{run_id.hex}' is deleted; restore it before logging to it", entity="run"
            )
        return info

    async def get_run(self, run_id: uuid.UUID) -> pb.Run:
        runs = await self.load_runs([run_id])
        if not runs:
            raise NotFound(f"run '{run_id.hex}' not found", entity="run")
        return runs[0]

    async def load_runs(self, ids: Sequence[uuid.UUID]) -> list[pb.Run]:
        """Whole runs (info, params, tags, latest metrics, inputs) in `ids` order."""
        async with self.db.pool.acquire() as conn:
            rows = await conn.fetch(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ANY($1)", ids)
            runs = {r["run_id"]: r for r in rows}
            return await self._complete(conn, [runs[i] for i in ids if i in runs])

    async def _complete(
        self, conn: asyncpg.Connection, rows: Sequence[Mapping[str, Any]]
    ) -> list[pb.Run]:
        """Runs from their `runs` rows, with their data and inputs in one more query."""
        runs = {r["run_id"]: pb.Run(info=info_of_row(r)) for r in rows}
        for r in await conn.fetch(_RUN_DATA, list(runs)):
            _fill(runs[r["run_id"]], r)
        return list(runs.values())

    async def update_run(
        self, run_id: uuid.UUID, status: str | None, end_time: int | None, name: str | None
    ) -> pb.RunInfo:
        async with self.db.pool.acquire() as conn, conn.transaction():
            return await self.update_run_in(conn, run_id, status, end_time, name)

    async def update_run_in(
        self,
        conn: asyncpg.Connection,
        run_id: uuid.UUID,
        status: str | None,
        end_time: int | None,
        name: str | None,
        made: Made | None = None,
    ) -> pb.RunInfo:
        """`update_run` inside the caller's transaction."""
        before = made.runs.get(run_id) if made else None
        if before is None:
            before = await self.run_info(conn, run_id, lock=True)
        if before.lifecycle_stage != STAGES["active"]:
            raise FailedPrecondition(
                f"run '{run_id.hex}' is deleted; restore it before updating it", entity="run"
            )
        end_time = end_time_of(status, end_time)
        row = await conn.fetchrow(
            "UPDATE runs SET status = coalesce($2, status), end_time = coalesce($3, end_time),"
            f" name = coalesce($4, name) WHERE run_id = $1 RETURNING {_RUN_COLUMNS}",
            run_id,
            status,
            end_time,
            name,
        )
        changed_tags = {}
        if name is not None:
            changed_tags = {RUN_NAME_TAG: name}
            await self._upsert_tags(conn, run_id, changed_tags)
        info = info_of_row(row)
        if made and run_id in made.runs:
            made.runs[run_id] = info
        await events.run_changed(self.outbox, conn, change_kind(status, before), info, changed_tags)
        return info

    async def set_run_lifecycle(self, run_id: uuid.UUID, stage: str) -> None:
        kind = et.RUN_DELETED if stage == "deleted" else et.RUN_RESTORED
        async with self.db.pool.acquire() as conn, conn.transaction():
            info = await self.run_info(conn, run_id, lock=True)
            if info.lifecycle_stage == STAGES[stage]:
                return
            row = await conn.fetchrow(
                f"UPDATE runs SET lifecycle_stage = $2 WHERE run_id = $1 RETURNING {_RUN_COLUMNS}",
                run_id,
                stage,
            )
            await events.run_changed(self.outbox, conn, kind, info_of_row(row))

    async def set_tags(
        self, run_id: uuid.UUID, tags: Mapping[str, str], deleted: Sequence[str] = ()
    ) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            info = await self.active_run(conn, run_id)
            if deleted:
                gone = await conn.fetchval(
                    "WITH d AS (DELETE FROM tags WHERE run_id = $1 AND key = ANY($2) RETURNING 1)"
                    " SELECT count(*) FROM d",
                    run_id,
                    list(deleted),
                )
                if gone < len(deleted):
                    raise NotFound(f"no tag '{deleted[0]}' on run '{run_id.hex}'", entity="tag")
            await self._upsert_tags(conn, run_id, tags)
            if RUN_NAME_TAG in tags:  # MLflow keeps the name and this tag in step
                await conn.execute(
                    "UPDATE runs SET name = $2 WHERE run_id = $1", run_id, tags[RUN_NAME_TAG]
                )
            await events.tags_set(self.outbox, conn, info, tags, deleted)

    async def _upsert_tags(
        self, conn: asyncpg.Connection, run_id: uuid.UUID, tags: Mapping[str, str]
    ) -> None:
        if tags:
            await conn.execute(
                "INSERT INTO tags SELECT $1, k, v FROM unnest($2::text[], $3::text[]) t(k, v)"
                " ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value",
                run_id,
                list(tags),
                list(tags.values()),
            )

    async def log_batch(
        self,
        run_id: uuid.UUID,
        series: Sequence[pb.MetricSeries],
        params: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> int:
        async with self.db.pool.acquire() as conn, conn.transaction():
            return await self.log_batch_in(conn, run_id, series, params, tags)

    async def log_batch_in(
        self,
        conn: asyncpg.Connection,
        run_id: uuid.UUID,
        series: Sequence[pb.MetricSeries],
        params: Mapping[str, str],
        tags: Mapping[str, str],
        made: Made | None = None,
    ) -> int:
        """`log_batch` inside the caller's transaction; the points written."""
        info = made.runs.get(run_id) if made else None
        if info is None:
            info = await self.active_run(conn, run_id)
        if params:
            logged = made.params.get(run_id) if made else None
            # A run this transaction made has no params but those it logged: new
            # keys cannot clash, so the check's query is skipped.
            fresh = logged is not None and logged.isdisjoint(params)
            await self._insert_params(conn, run_id, params, check=not fresh)
            if logged is not None:
                logged.update(params)
            await events.params_logged(self.outbox, conn, info, params)
        if tags:
            await self._upsert_tags(conn, run_id, tags)
            if RUN_NAME_TAG in tags:  # as in set_tags: the name follows its tag
                await conn.execute(
                    "UPDATE runs SET name = $2 WHERE run_id = $1", run_id, tags[RUN_NAME_TAG]
                )
            await events.tags_set(self.outbox, conn, info, tags)
        written = await self.metrics.ingest(conn, run_id, series)
        if written:
            await events.metrics_logged(self.outbox, conn, info.run_id, info.experiment_id, series)
        return written

    async def _insert_params(
        self,
        conn: asyncpg.Connection,
        run_id: uuid.UUID,
        params: Mapping[str, str],
        *,
        check: bool = True,
    ) -> None:
        # Params are immutable: the same value again is fine, another is an error.
        # Insert first, then compare: a concurrent writer of the same key makes the
        # insert wait for its commit, and the check (a fresh snapshot) then sees its
        # value. Checking first let both writers pass and the second one's value be
        # dropped silently. Keys go in sorted order so writers cannot deadlock.
        keys = sorted(params)
        values = [params[k] for k in keys]
        await conn.execute(
            "INSERT INTO params SELECT $1, k, v FROM unnest($2::text[], $3::text[]) t(k, v)"
            " ON CONFLICT DO NOTHING",
            run_id,
            keys,
            values,
        )
        if not check:
            return
        clash = await conn.fetchrow(
            "SELECT p.key, p.value, n.v FROM params p JOIN unnest($2::text[], $3::text[]) n(k, v)"
            " ON p.key = n.k WHERE p.run_id = $1 AND p.value <> n.v ORDER BY p.key LIMIT 1",
            run_id,
            keys,
            values,
        )
        if clash is not None:  # raising rolls the whole batch back
            raise InvalidArgument(
                f"param '{clash['key']}' was already logged with value '{clash['value']}' for run"
                f" '{run_id.hex}'; changing it to '{clash['v']}' is not allowed",
                field="params",
            )

    async def log_inputs(self, run_id: uuid.UUID, inputs: Sequence[pb.DatasetInput]) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            info = await self.active_run(conn, run_id)
            for item in inputs:
                d = item.dataset
                dataset_id = await conn.fetchval(
                    "INSERT INTO datasets (experiment_id, name, digest, source_type, source,"
                    " schema, profile) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                    " ON CONFLICT (experiment_id, name,"
                    " digest) DO UPDATE SET source = EXCLUDED.source RETURNING dataset_id",
                    int(info.experiment_id),
                    d.name,
                    d.digest,
                    d.source_type,
                    d.source,
                    d.schema,
                    d.profile,
                )
                await conn.execute(
                    "INSERT INTO run_inputs VALUES ($1, $2, $3) ON CONFLICT (run_id, dataset_id)"
                    " DO UPDATE SET tags = EXCLUDED.tags",
                    run_id,
                    dataset_id,
                    json.dumps(dict(item.tags)),
                )
            await events.inputs_logged(self.outbox, conn, info, inputs)

    async def search_runs(
        self,
        experiment_ids: Sequence[int],
        filter: str,
        view: int,
        order_by: Sequence[str],
        page_token: str,
        limit: int,
    ) -> tuple[list[pb.Run], str]:
        query = search.build_run_search(
            experiment_ids=experiment_ids,
            filter=filter,
            view=VIEWS[view],
            order_by=order_by,
            page_token=page_token,
            limit=limit,
        )
        rows, token = await self.db.search(query, limit)
        async with self.db.pool.acquire() as conn:
            return await self._complete(conn, rows), token
