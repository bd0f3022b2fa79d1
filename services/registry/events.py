"""What the registry publishes (it consumes nothing yet).

Each function writes one event into the caller's transaction through the
outbox. The subject is always the model's name, so one model's changes stay
in order; payloads carry enough to act on (deploy, notify) without calling back.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from switchyard.core import event_types as et
from switchyard.core.outbox import Outbox
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.proto.v1 import registry_pb2 as pb


async def model_changed(
    outbox: Outbox,
    conn: asyncpg.Connection,
    kind: et.EventType,
    model: pb.RegisteredModel,
    actor: str,
    previous_name: str = "",
) -> None:
    payload = ev.RegisteredModelChanged(model=model, previous_name=previous_name, actor=actor)
    await outbox.add(conn, kind, model.name, payload)


async def version_changed(
    outbox: Outbox, conn: asyncpg.Connection, kind: et.EventType, v: pb.ModelVersion, actor: str
) -> None:
    await outbox.add(conn, kind, v.name, ev.ModelVersionChanged(version=v, actor=actor))


async def alias_changed(
    outbox: Outbox,
    conn: asyncpg.Connection,
    alias: str,
    target: pb.ModelVersion,
    previous_version: int,
    actor: str,
    *,
    deleted: bool = False,
) -> None:
    """`target` is the version the alias now names, or named before a delete."""
    payload = ev.AliasChanged(
        name=target.name,
        alias=alias,
        version=0 if deleted else target.version,
        previous_version=previous_version,
        source=target.source,
        storage_location=target.storage_location,
        run_id=target.run_id,
        content_digest=target.content_digest,
        actor=actor,
    )
    kind = et.ALIAS_DELETED if deleted else et.ALIAS_SET
    await outbox.add(conn, kind, target.name, payload)


async def stage_changed(
    outbox: Outbox,
    conn: asyncpg.Connection,
    v: pb.ModelVersion,
    from_stage: str,
    archived: Sequence[int],
    actor: str,
) -> None:
    payload = ev.StageChanged(
        name=v.name,
        version=v.version,
        from_stage=from_stage,
        to_stage=v.current_stage,
        archived_versions=archived,
        source=v.source,
        storage_location=v.storage_location,
        actor=actor,
    )
    await outbox.add(conn, et.STAGE_CHANGED, v.name, payload)
