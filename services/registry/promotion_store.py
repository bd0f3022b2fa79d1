"""All SQL for promotion: aliases, legacy stages, and resolving what to download.

Writers take the model's row lock first, so alias moves and stage
transitions of one model apply (and publish) one at a time, in order; each
is one transaction with its outbox event and audit entry.
"""

from __future__ import annotations

from typing import NoReturn

import asyncpg

from switchyard.core.db import Database
from switchyard.core.ids import now_ms
from switchyard.core.outbox import Outbox
from switchyard.errors import NotFound
from switchyard.proto.v1 import registry_pb2 as pb
from switchyard.services.registry import events, history, records
from switchyard.services.registry.history import Change
from switchyard.services.registry.validation import ARCHIVING_STAGES

# Hot paths (resolving name@alias before a download): nested scalar subqueries
# plan in a fifth of the time of the equivalent joins, and every query is
# planned afresh (the pool forces custom plans).
_MODEL_ID = "(SELECT m.model_id FROM registered_models m WHERE m.name = $1)"
_BY_ALIAS = (
    "SELECT v.model_id, v.version, v.storage_location, v.content_digest FROM model_versions v"
    " WHERE (v.model_id, v.version) = (SELECT a.model_id, a.version FROM aliases a"
    f" WHERE a.model_id = {_MODEL_ID} AND a.alias = $2)"
)
_BY_VERSION = (
    "SELECT v.model_id, v.version, v.storage_location, v.content_digest FROM model_versions v"
    f" WHERE v.model_id = {_MODEL_ID} AND v.version = $2"
)


class PromotionStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    # -- aliases ----------------------------------------------------------------

    async def set_alias(self, name: str, alias: str, number: int, actor: str) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            model_id, _ = await records.version(conn, name, number, lock=True)
            previous = await conn.fetchval(
                "SELECT version FROM aliases WHERE model_id = $1 AND alias = $2", model_id, alias
            )
            if previous == number:
                return  # already there: nothing changes, nothing to announce
            await conn.execute(
                "INSERT INTO aliases VALUES ($1, $2, $3)"
                " ON CONFLICT (model_id, alias) DO UPDATE SET version = EXCLUDED.version",
                model_id,
                alias,
                number,
            )
            await self._touch(conn, model_id)
            (target,) = await records.load_versions(conn, [(model_id, number)])
            change = Change(
                "alias.set", version=number, alias=alias, from_version=previous, to_version=number
            )
            await history.append(conn, model_id, name, actor, change)
            await events.alias_changed(self.outbox, conn, alias, target, previous or 0, actor)

    async def delete_alias(self, name: str, alias: str, actor: str) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            model = await records.model_row(conn, name, lock=True)
            previous = await conn.fetchval(
                "DELETE FROM aliases WHERE model_id = $1 AND alias = $2 RETURNING version",
                model["model_id"],
                alias,
            )
            if previous is None:
                raise NotFound(f"registered model '{name}' has no alias '{alias}'", entity="alias")
            await self._touch(conn, model["model_id"])
            (target,) = await records.load_versions(conn, [(model["model_id"], previous)])
            change = Change("alias.deleted", version=previous, alias=alias, from_version=previous)
            await history.append(conn, model["model_id"], name, actor, change)
            await events.alias_changed(
                self.outbox, conn, alias, target, previous, actor, deleted=True
            )

    async def version_by_alias(self, name: str, alias: str) -> pb.ModelVersion:
        async with self.db.pool.acquire() as conn:
            row = await conn.fetchrow(_BY_ALIAS, name, alias)
            if row is None:
                await self._missing(conn, name, f"has no alias '{alias}'", "alias")
            return (await records.load_versions(conn, [(row["model_id"], row["version"])]))[0]

    async def download_uri(self, name: str, number: int, alias: str) -> tuple[str, int, str]:
        """(storage location, version, content digest) by version or by alias: one query."""
        async with self.db.pool.acquire() as conn:
            if alias:
                row = await conn.fetchrow(_BY_ALIAS, name, alias)
                missing = f"has no alias '{alias}'"
            else:
                row = await conn.fetchrow(_BY_VERSION, name, number)
                missing = f"has no version {number}"
            if row is None:
                await self._missing(conn, name, missing, "alias" if alias else "model_version")
            return row["storage_location"], row["version"], row["content_digest"]

    async def _missing(
        self, conn: asyncpg.Connection, name: str, what: str, entity: str
    ) -> NoReturn:
        await records.model_row(conn, name)  # NotFound for the model itself first
        raise NotFound(f"registered model '{name}' {what}", entity=entity)

    # -- stages -----------------------------------------------------------------

    async def transition_stage(
        self, name: str, number: int, stage: str, archive_existing: bool, actor: str
    ) -> pb.ModelVersion:
        async with self.db.pool.acquire() as conn, conn.transaction():
            model_id, before = await records.version(conn, name, number, lock=True)
            now = now_ms()
            archived: list[int] = []
            if archive_existing and stage in ARCHIVING_STAGES:
                archived = [
                    r["version"]
                    for r in await conn.fetch(
                        "UPDATE model_versions SET stage = 'Archived', last_update_time = $4"
                        " WHERE model_id = $1 AND stage = $2 AND version <> $3 RETURNING version",
                        model_id,
                        stage,
                        number,
                        now,
                    )
                ]
                archived.sort()
            if before.current_stage == stage and not archived:
                return before
            await conn.execute(
                "UPDATE model_versions SET stage = $3, last_update_time = $4"
                " WHERE model_id = $1 AND version = $2",
                model_id,
                number,
                stage,
                now,
            )
            await self._touch(conn, model_id)
            (after,) = await records.load_versions(conn, [(model_id, number)])
            changes = [
                Change(
                    "stage.changed", version=number, from_stage=before.current_stage, to_stage=stage
                )
            ]
            changes += [
                Change(
                    "stage.changed",
                    version=v,
                    from_stage=stage,
                    to_stage="Archived",
                    detail=f"archived by the transition of version {number}",
                )
                for v in archived
            ]
            await history.append(conn, model_id, name, actor, *changes)
            await events.stage_changed(
                self.outbox, conn, after, before.current_stage, archived, actor
            )
        return after

    async def _touch(self, conn: asyncpg.Connection, model_id: int) -> None:
        await conn.execute(
            "UPDATE registered_models SET last_update_time = $2 WHERE model_id = $1",
            model_id,
            now_ms(),
        )
