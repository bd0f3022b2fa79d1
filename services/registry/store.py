"""All SQL for registered models and versions (aliases and stages: promotion_store.py).

Each write is one transaction that also writes its event to the outbox and
its entry to the audit history; reads return protobuf entities.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from switchyard.core import event_types as et
from switchyard.core.db import Database
from switchyard.core.ids import now_ms
from switchyard.core.outbox import Outbox
from switchyard.errors import AlreadyExists, NotFound
from switchyard.proto.v1 import registry_pb2 as pb
from switchyard.services.registry import events, history, records, search
from switchyard.services.registry.history import Change


@dataclass(frozen=True)
class NewVersion:
    """A validated version to register, its run already checked with tracking."""

    source: str
    storage_location: str
    run_id: uuid.UUID | None
    experiment_id: str
    description: str
    tags: Mapping[str, str]
    signature: pb.ModelSignature
    flavor: str
    content_digest: str


class RegistryStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    # -- registered models ------------------------------------------------------

    async def create_model(
        self, name: str, tags: Mapping[str, str], description: str, actor: str
    ) -> pb.RegisteredModel:
        now = now_ms()
        async with self.db.pool.acquire() as conn, conn.transaction():
            try:
                model_id = await conn.fetchval(
                    "INSERT INTO registered_models (name, description, creation_time,"
                    " last_update_time) VALUES ($1, $2, $3, $3) RETURNING model_id",
                    name,
                    description,
                    now,
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists(
                    f"registered model '{name}' already exists",
                    entity="registered_model",
                    field="name",
                ) from None
            await _upsert_model_tags(conn, model_id, tags)
            (model,) = await records.load_models(conn, [model_id])
            await history.append(conn, model_id, name, actor, Change("model.created"))
            await events.model_changed(self.outbox, conn, et.MODEL_CREATED, model, actor)
        return model

    async def require_model(self, name: str) -> None:
        async with self.db.pool.acquire() as conn:
            await records.model_row(conn, name)

    async def get_model(self, name: str) -> pb.RegisteredModel:
        async with self.db.pool.acquire() as conn:
            row = await records.model_row(conn, name)
            (model,) = await records.load_models(conn, [row["model_id"]])
        return model

    async def rename_model(self, name: str, new_name: str, actor: str) -> pb.RegisteredModel:
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await records.model_row(conn, name, lock=True)
            if new_name == name:
                return (await records.load_models(conn, [row["model_id"]]))[0]
            try:
                await conn.execute(
                    "UPDATE registered_models SET name = $2, last_update_time = $3"
                    " WHERE model_id = $1",
                    row["model_id"],
                    new_name,
                    now_ms(),
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists(
                    f"registered model '{new_name}' already exists",
                    entity="registered_model",
                    field="new_name",
                ) from None
            change = Change("model.renamed", detail=f"{name} -> {new_name}")
            return await self._model_changed(conn, row["model_id"], actor, change, name)

    async def update_model(self, name: str, description: str, actor: str) -> pb.RegisteredModel:
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await records.model_row(conn, name, lock=True)
            await conn.execute(
                "UPDATE registered_models SET description = $2, last_update_time = $3"
                " WHERE model_id = $1",
                row["model_id"],
                description,
                now_ms(),
            )
            change = Change("model.updated", detail="description")
            return await self._model_changed(conn, row["model_id"], actor, change)

    async def delete_model(self, name: str, actor: str) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await records.model_row(conn, name, lock=True)
            (model,) = await records.load_models(conn, [row["model_id"]])
            # Versions, tags and aliases go with it (ON DELETE CASCADE); the history stays.
            await conn.execute("DELETE FROM registered_models WHERE model_id = $1", row["model_id"])
            await history.append(conn, row["model_id"], name, actor, Change("model.deleted"))
            await events.model_changed(self.outbox, conn, et.MODEL_DELETED, model, actor)

    async def set_model_tag(self, name: str, key: str, value: str, actor: str) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await records.model_row(conn, name, lock=True)
            await _upsert_model_tags(conn, row["model_id"], {key: value})
            await self._touch_model(conn, row["model_id"])
            change = Change("model.tag_set", detail=key)
            await self._model_changed(conn, row["model_id"], actor, change)

    async def delete_model_tag(self, name: str, key: str, actor: str) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await records.model_row(conn, name, lock=True)
            gone = await conn.fetchval(
                "DELETE FROM model_tags WHERE model_id = $1 AND key = $2 RETURNING 1",
                row["model_id"],
                key,
            )
            if gone is None:
                raise NotFound(f"registered model '{name}' has no tag '{key}'", entity="tag")
            await self._touch_model(conn, row["model_id"])
            change = Change("model.tag_deleted", detail=key)
            await self._model_changed(conn, row["model_id"], actor, change)

    async def search_models(
        self, filter: str, order_by: Sequence[str], page_token: str, limit: int
    ) -> tuple[list[pb.RegisteredModel], str]:
        query = search.build_model_search(filter, order_by, page_token, limit)
        rows, token = await self.db.search(query, limit)
        async with self.db.pool.acquire() as conn:
            models = await records.load_models(conn, [r["model_id"] for r in rows])
        return models, token

    async def _touch_model(self, conn: asyncpg.Connection, model_id: int) -> None:
        await conn.execute(
            "UPDATE registered_models SET last_update_time = $2 WHERE model_id = $1",
            model_id,
            now_ms(),
        )

    async def _model_changed(
        self,
        conn: asyncpg.Connection,
        model_id: int,
        actor: str,
        change: Change,
        previous_name: str = "",
    ) -> pb.RegisteredModel:
        (model,) = await records.load_models(conn, [model_id])
        await history.append(conn, model_id, model.name, actor, change)
        await events.model_changed(self.outbox, conn, et.MODEL_UPDATED, model, actor, previous_name)
        return model

    # -- model versions ---------------------------------------------------------

    async def create_version(self, name: str, new: NewVersion, actor: str) -> pb.ModelVersion:
        now = now_ms()
        async with self.db.pool.acquire() as conn, conn.transaction():
            # The next number, under the model's row lock: concurrent creators queue
            # here, and a rollback returns the number, so there are no gaps or repeats.
            row = await conn.fetchrow(
                "UPDATE registered_models SET last_version = last_version + 1,"
                " last_update_time = $2 WHERE name = $1 RETURNING model_id, last_version",
                name,
                now,
            )
            if row is None:
                raise NotFound(f"registered model '{name}' not found", entity="registered_model")
            model_id, number = row["model_id"], row["last_version"]
            await conn.execute(
                "INSERT INTO model_versions (model_id, version, creation_time, last_update_time,"
                " description, source, storage_location, run_id, experiment_id,"
                " signature_inputs, signature_outputs, signature_params, flavor, content_digest)"
                " VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                model_id,
                number,
                now,
                new.description,
                new.source,
                new.storage_location,
                new.run_id,
                new.experiment_id,
                new.signature.inputs,
                new.signature.outputs,
                new.signature.params,
                new.flavor,
                new.content_digest,
            )
            await _upsert_version_tags(conn, model_id, number, new.tags)
            (created,) = await records.load_versions(conn, [(model_id, number)])
            change = Change("version.created", version=number, detail=new.source)
            await history.append(conn, model_id, name, actor, change)
            await events.version_changed(self.outbox, conn, et.VERSION_CREATED, created, actor)
        return created

    async def get_version(self, name: str, number: int) -> pb.ModelVersion:
        async with self.db.pool.acquire() as conn:
            return (await records.version(conn, name, number))[1]

    async def update_version(
        self, name: str, number: int, description: str, actor: str
    ) -> pb.ModelVersion:
        async with self.db.pool.acquire() as conn, conn.transaction():
            model_id, _ = await records.version(conn, name, number, lock=True)
            await conn.execute(
                "UPDATE model_versions SET description = $3, last_update_time = $4"
                " WHERE model_id = $1 AND version = $2",
                model_id,
                number,
                description,
                now_ms(),
            )
            change = Change("version.updated", version=number, detail="description")
            return await self._version_changed(conn, model_id, number, actor, change)

    async def delete_version(self, name: str, number: int, actor: str) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            model_id, gone = await records.version(conn, name, number, lock=True)
            # Its aliases go with it (ON DELETE CASCADE): say so, each in the history and
            # as an event, so automation that follows an alias learns it points nowhere.
            await conn.execute(
                "DELETE FROM model_versions WHERE model_id = $1 AND version = $2",
                model_id,
                number,
            )
            changes = [Change("version.deleted", version=number, detail=gone.source)]
            changes += [
                Change("alias.deleted", alias=a, from_version=number, detail="version deleted")
                for a in gone.aliases
            ]
            await history.append(conn, model_id, name, actor, *changes)
            await events.version_changed(self.outbox, conn, et.VERSION_DELETED, gone, actor)
            for alias in gone.aliases:
                await events.alias_changed(
                    self.outbox, conn, alias, gone, number, actor, deleted=True
                )

    async def set_version_tag(
        self, name: str, number: int, key: str, value: str, actor: str
    ) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            model_id, _ = await records.version(conn, name, number, lock=True)
            await _upsert_version_tags(conn, model_id, number, {key: value})
            change = Change("version.tag_set", version=number, detail=key)
            await self._version_changed(conn, model_id, number, actor, change)

    async def delete_version_tag(self, name: str, number: int, key: str, actor: str) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            model_id, _ = await records.version(conn, name, number, lock=True)
            gone = await conn.fetchval(
                "DELETE FROM version_tags WHERE model_id = $1 AND version = $2 AND key = $3"
                " RETURNING 1",
                model_id,
                number,
                key,
            )
            if gone is None:
                raise NotFound(
                    f"version {number} of registered model '{name}' has no tag '{key}'",
                    entity="tag",
                )
            change = Change("version.tag_deleted", version=number, detail=key)
            await self._version_changed(conn, model_id, number, actor, change)

    async def search_versions(
        self, filter: str, order_by: Sequence[str], page_token: str, limit: int
    ) -> tuple[list[pb.ModelVersion], str]:
        query = search.build_version_search(filter, order_by, page_token, limit)
        rows, token = await self.db.search(query, limit)
        async with self.db.pool.acquire() as conn:
            keys = [(r["model_id"], r["version"]) for r in rows]
            return await records.load_versions(conn, keys), token

    async def _version_changed(
        self, conn: asyncpg.Connection, model_id: int, number: int, actor: str, change: Change
    ) -> pb.ModelVersion:
        await conn.execute(
            "UPDATE model_versions SET last_update_time = $3 WHERE model_id = $1 AND version = $2",
            model_id,
            number,
            now_ms(),
        )
        (changed,) = await records.load_versions(conn, [(model_id, number)])
        await history.append(conn, model_id, changed.name, actor, change)
        await events.version_changed(self.outbox, conn, et.VERSION_UPDATED, changed, actor)
        return changed

    # -- history ----------------------------------------------------------------

    async def history(
        self, name: str, page_token: str, limit: int
    ) -> tuple[list[pb.ModelHistoryEntry], str]:
        async with self.db.pool.acquire() as conn:
            try:
                model_id = (await records.model_row(conn, name))["model_id"]
            except NotFound:
                # A deleted (or renamed-away) model's history stays readable by name.
                found = await history.last_model_id(conn, name)
                if found is None:
                    raise
                model_id = found
            return await history.read(conn, model_id, page_token, limit)


async def _upsert_model_tags(
    conn: asyncpg.Connection, model_id: int, tags: Mapping[str, str]
) -> None:
    if tags:
        await conn.execute(
            "INSERT INTO model_tags SELECT $1, k, v FROM unnest($2::text[], $3::text[]) t(k, v)"
            " ON CONFLICT (model_id, key) DO UPDATE SET value = EXCLUDED.value",
            model_id,
            list(tags),
            list(tags.values()),
        )


async def _upsert_version_tags(
    conn: asyncpg.Connection, model_id: int, number: int, tags: Mapping[str, str]
) -> None:
    if tags:
        await conn.execute(
            "INSERT INTO version_tags SELECT $1, $2, k, v"
            " FROM unnest($3::text[], $4::text[]) t(k, v)"
            " ON CONFLICT (model_id, version, key) DO UPDATE SET value = EXCLUDED.value",
            model_id,
            number,
            list(tags),
            list(tags.values()),
        )
