"""All SQL for where versions serve, as the gateway's deployment events tell it.

Each applied event is one transaction: it moves the deployment's mark forward
(or finds it already past, and changes nothing), then replaces the
deployment's rows with what the event says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from switchyard.core.db import Database
from switchyard.proto.v1 import registry_pb2 as pb


@dataclass(frozen=True)
class Mark:
    """How new an event is for its deployment: compared as (updated_ms, event_us)."""

    updated_ms: int
    event_us: int


@dataclass(frozen=True)
class Served:
    """One version a deployment serves, in the words lineage shows."""

    model_name: str
    model_version: int
    target: str


# Moves the mark only forward; an equal mark (a redelivery) returns nothing.
_ADVANCE = (
    "INSERT INTO deployment_marks (deployment, updated_ms, event_us, deleted)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (deployment) DO UPDATE"
    " SET updated_ms = EXCLUDED.updated_ms, event_us = EXCLUDED.event_us,"
    " deleted = EXCLUDED.deleted"
    " WHERE (deployment_marks.updated_ms, deployment_marks.event_us)"
    " < (EXCLUDED.updated_ms, EXCLUDED.event_us)"
    " RETURNING true"
)
_DROP_OTHERS = (
    "DELETE FROM version_deployments WHERE deployment = $1"
    " AND (model_name, model_version) NOT IN"
    " (SELECT n, v FROM unnest($2::text[], $3::bigint[]) AS u(n, v))"
)
# since_ms is left alone on conflict: it is when this deployment began serving it.
_UPSERT = (
    "INSERT INTO version_deployments"
    " (deployment, model_name, model_version, target, state, since_ms)"
    " SELECT $1, n, v, t, $5, $6 FROM unnest($2::text[], $3::bigint[], $4::text[]) AS u(n, v, t)"
    " ON CONFLICT (deployment, model_name, model_version)"
    " DO UPDATE SET target = EXCLUDED.target, state = EXCLUDED.state"
)


class DeploymentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def replace(
        self, deployment: str, mark: Mark, state: str, served: Sequence[Served], since_ms: int
    ) -> bool:
        """The deployment now serves `served`; False when a newer event was applied already."""
        names = [s.model_name for s in served]
        versions = [s.model_version for s in served]
        async with self.db.pool.acquire() as conn, conn.transaction():
            args = (deployment, mark.updated_ms, mark.event_us, False)
            if not await conn.fetchval(_ADVANCE, *args):
                return False
            await conn.execute(_DROP_OTHERS, deployment, names, versions)
            targets = [s.target for s in served]
            await conn.execute(_UPSERT, deployment, names, versions, targets, state, since_ms)
        return True

    async def delete(self, deployment: str, mark: Mark) -> bool:
        """The deployment is gone; its mark stays so that a late update cannot revive it."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(_ADVANCE, deployment, mark.updated_ms, mark.event_us, True):
                return False
            await conn.execute("DELETE FROM version_deployments WHERE deployment = $1", deployment)
        return True

    async def forget_deleted(self, before_us: int) -> None:
        """Drop tombstones older than any event the stream can still redeliver."""
        await self.db.pool.execute(
            "DELETE FROM deployment_marks WHERE deleted AND event_us < $1", before_us
        )

    async def serving(self, name: str, version: int) -> list[pb.ModelDeployment]:
        rows = await self.db.pool.fetch(
            "SELECT deployment, target, state, since_ms FROM version_deployments"
            " WHERE model_name = $1 AND model_version = $2 ORDER BY since_ms, deployment",
            name,
            version,
        )
        return [
            pb.ModelDeployment(
                name=r["deployment"], target=r["target"], state=r["state"], since=r["since_ms"]
            )
            for r in rows
        ]
