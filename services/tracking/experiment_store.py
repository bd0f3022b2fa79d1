"""All SQL for experiments. Each write is one transaction with its outbox event."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import asyncpg

from switchyard.core import event_types as et
from switchyard.core.db import Database
from switchyard.core.ids import now_ms
from switchyard.core.outbox import Outbox
from switchyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.services.tracking import events, search
from switchyard.services.tracking.states import DEFAULT_EXPERIMENT, STAGES, VIEWS


def _experiment(row: Mapping[str, object], tags: Mapping[str, str]) -> pb.Experiment:
    return pb.Experiment(
        experiment_id=str(row["experiment_id"]),
        name=str(row["name"]),
        artifact_location=str(row["artifact_location"]),
        lifecycle_stage=STAGES[str(row["lifecycle_stage"])],
        creation_time=int(row["creation_time"]),  # type: ignore[call-overload]
        last_update_time=int(row["last_update_time"]),  # type: ignore[call-overload]
        tags=tags,
    )


class ExperimentStore:
    def __init__(self, db: Database, outbox: Outbox, artifact_root: str) -> None:
        self.db = db
        self.outbox = outbox
        self.artifact_root = artifact_root.rstrip("/")

    async def ensure_default_experiment(self) -> None:
        now = now_ms()
        await self.db.pool.execute(
            "INSERT INTO experiments VALUES (0, $1, $2, 'active', $3, $3) ON CONFLICT DO NOTHING",
            DEFAULT_EXPERIMENT,
            f"{self.artifact_root}/0",
            now,
        )

    async def create_experiment(
        self, name: str, artifact_location: str, tags: Mapping[str, str]
    ) -> pb.Experiment:
        now = now_ms()
        async with self.db.pool.acquire() as conn, conn.transaction():
            exp_id = await conn.fetchval("SELECT nextval('experiment_ids')")
            location = artifact_location or f"{self.artifact_root}/{exp_id}"
            try:
                row = await conn.fetchrow(
                    "INSERT INTO experiments VALUES ($1, $2, $3, 'active', $4, $4) RETURNING *",
                    exp_id,
                    name,
                    location,
                    now,
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists(
                    f"experiment '{name}' already exists", entity="experiment"
                ) from None
            await self._set_experiment_tags(conn, exp_id, tags)
            experiment = _experiment(row, tags)
            await events.experiment_changed(self.outbox, conn, et.EXPERIMENT_CREATED, experiment)
        return experiment

    async def _set_experiment_tags(
        self, conn: asyncpg.Connection, exp_id: int, tags: Mapping[str, str]
    ) -> None:
        if tags:
            await conn.execute(
                "INSERT INTO experiment_tags SELECT $1, k, v"
                " FROM unnest($2::text[], $3::text[]) t(k, v)"
                " ON CONFLICT (experiment_id, key) DO UPDATE SET value = EXCLUDED.value",
                exp_id,
                list(tags),
                list(tags.values()),
            )

    async def get_experiment(
        self, exp_id: int, conn: asyncpg.Connection | None = None
    ) -> pb.Experiment:
        found = await self._experiments("e.experiment_id = $1", exp_id, conn=conn)
        if not found:
            raise NotFound(f"experiment '{exp_id}' not found", entity="experiment")
        return found[0]

    async def get_experiment_by_name(self, name: str) -> pb.Experiment:
        found = await self._experiments("e.name = $1", name)
        if not found:
            raise NotFound(f"experiment named '{name}' not found", entity="experiment")
        return found[0]

    async def _experiments(
        self, where: str, *args: object, conn: asyncpg.Connection | None = None
    ) -> list[pb.Experiment]:
        rows = await (conn or self.db.pool).fetch(
            "SELECT e.*, coalesce((SELECT jsonb_object_agg(t.key, t.value) FROM experiment_tags t"
            f" WHERE t.experiment_id = e.experiment_id), '{{}}') AS tags"
            f" FROM experiments e WHERE {where}",
            *args,
        )
        return [_experiment(r, json.loads(r["tags"])) for r in rows]

    async def search_experiments(
        self, filter: str, view: int, order_by: Sequence[str], page_token: str, limit: int
    ) -> tuple[list[pb.Experiment], str]:
        query = search.build_experiment_search(
            filter=filter, view=VIEWS[view], order_by=order_by, page_token=page_token, limit=limit
        )
        rows, token = await self.db.search(query, limit)
        ids = [r["experiment_id"] for r in rows]
        by_id = {
            e.experiment_id: e for e in await self._experiments("e.experiment_id = ANY($1)", ids)
        }
        return [by_id[str(i)] for i in ids], token

    async def update_experiment(self, exp_id: int, new_name: str) -> pb.Experiment:
        async with self.db.pool.acquire() as conn, conn.transaction():
            await self.active(conn, exp_id)
            try:
                await conn.execute(
                    "UPDATE experiments SET name = $2, last_update_time = $3"
                    " WHERE experiment_id = $1",
                    exp_id,
                    new_name,
                    now_ms(),
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists(
                    f"experiment '{new_name}' already exists", entity="experiment"
                ) from None
            experiment = await self.get_experiment(exp_id, conn)
            await events.experiment_changed(self.outbox, conn, et.EXPERIMENT_UPDATED, experiment)
        return experiment

    async def set_experiment_lifecycle(self, exp_id: int, stage: str) -> None:
        if exp_id == 0 and stage == "deleted":
            raise InvalidArgument("the default experiment cannot be deleted", field="experiment_id")
        kind = et.EXPERIMENT_DELETED if stage == "deleted" else et.EXPERIMENT_RESTORED
        async with self.db.pool.acquire() as conn, conn.transaction():
            current = await self.get_experiment(exp_id, conn)
            if current.lifecycle_stage == STAGES[stage]:
                return
            await conn.execute(
                "UPDATE experiments SET lifecycle_stage = $2, last_update_time = $3"
                " WHERE experiment_id = $1",
                exp_id,
                stage,
                now_ms(),
            )
            # As MLflow does: the experiment's runs follow it.
            await conn.execute(
                "UPDATE runs SET lifecycle_stage = $2 WHERE experiment_id = $1", exp_id, stage
            )
            await events.experiment_changed(
                self.outbox, conn, kind, await self.get_experiment(exp_id, conn)
            )

    async def set_experiment_tag(self, exp_id: int, key: str, value: str) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            await self.active(conn, exp_id)
            await self._set_experiment_tags(conn, exp_id, {key: value})
            await conn.execute(
                "UPDATE experiments SET last_update_time = $2 WHERE experiment_id = $1",
                exp_id,
                now_ms(),
            )
            experiment = await self.get_experiment(exp_id, conn)
            await events.experiment_changed(self.outbox, conn, et.EXPERIMENT_UPDATED, experiment)

    async def active(self, conn: asyncpg.Connection, exp_id: int) -> pb.Experiment:
        experiment = await self.get_experiment(exp_id, conn)
        if experiment.lifecycle_stage != cpb.LIFECYCLE_STAGE_ACTIVE:
            raise FailedPrecondition(
                f"experiment '{exp_id}' is deleted; restore it first", entity="experiment"
            )
        return experiment
