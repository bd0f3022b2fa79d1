"""All SQL of the gateway: deployments, their revisions and replicas.

The gateway keeps its working state in memory (deployments.py) and writes
every change here first, in one transaction with its event, so a restarted
gateway rebuilds exactly what it had acknowledged (`load`).
"""

from __future__ import annotations

import asyncpg

from switchyard.core import event_types as et
from switchyard.core.db import Database
from switchyard.core.events import Event
from switchyard.core.ids import now_ms
from switchyard.core.outbox import Outbox
from switchyard.errors import AlreadyExists, NotFound
from switchyard.proto.v1 import events_pb2 as ev
from switchyard.proto.v1 import gateway_pb2 as pb
from switchyard.proto.v1 import inference_pb2 as ipb
from switchyard.services.inference_gateway import records
from switchyard.services.inference_gateway.records import DeploymentRow, ReplicaRow, RevisionRow


class GatewayStore:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    async def load(self) -> list[DeploymentRow]:
        """Every deployment with its revisions and replicas (at start)."""
        async with self.db.pool.acquire() as conn:
            names = await conn.fetch("SELECT name FROM deployments ORDER BY seq")
            return [await self._row(conn, r["name"]) for r in names]

    async def create(
        self, spec: pb.DeploymentSpec, revisions: list[RevisionRow], events: list[Event]
    ) -> DeploymentRow:
        """The new deployment and what it serves, with its `created` event (and `events`)."""
        now = now_ms()
        async with self.db.pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(
                    "INSERT INTO deployments (name, spec, state, created_ms, updated_ms)"
                    " VALUES ($1, $2, 'PENDING', $3, $3)",
                    spec.name,
                    spec.SerializeToString(),
                    now,
                )
            except asyncpg.UniqueViolationError:
                raise AlreadyExists(
                    f"deployment '{spec.name}' already exists",
                    entity="deployment",
                    field="spec.name",
                ) from None
            for revision in revisions:
                await self._add_revision(conn, spec.name, revision)
            row = await self._row(conn, spec.name)
            await self._changed(conn, et.DEPLOYMENT_CREATED, row, "created")
            await self.outbox.add_events(conn, events)
            return row

    async def update_spec(
        self,
        spec: pb.DeploymentSpec,
        new: list[RevisionRow],
        roles: dict[int, str],
        reason: str,
        events: list[Event],
    ) -> DeploymentRow:
        """The new spec, revisions added and roles changed, with their events, in one step."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            await self._must_exist(conn, spec.name, lock=True)
            await conn.execute(
                "UPDATE deployments SET spec = $2, updated_ms = $3 WHERE name = $1",
                spec.name,
                spec.SerializeToString(),
                now_ms(),
            )
            for revision, role in roles.items():
                await self._set_role(conn, spec.name, revision, role)
            for added in new:
                await self._add_revision(conn, spec.name, added)
            row = await self._row(conn, spec.name)
            await self._changed(conn, et.DEPLOYMENT_UPDATED, row, reason)
            await self.outbox.add_events(conn, list(events))
            return row

    async def set_roles(
        self,
        name: str,
        roles: dict[int, str],
        percent: dict[int, float],
        events: list[Event],
    ) -> None:
        """Revisions change roles (a promotion, a rollback), with the rollout's events."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            await self.outbox.add_events(conn, events)
            for revision, role in roles.items():
                await self._set_role(conn, name, revision, role)
            for revision, value in percent.items():
                await conn.execute(
                    "UPDATE revisions SET percent = $3 WHERE deployment = $1 AND revision = $2",
                    name,
                    revision,
                    value,
                )

    async def set_state(self, name: str, state: str, message: str) -> None:
        """READY, IDLE, PENDING or FAILED, with a `deployment.updated` event saying so."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE deployments SET state = $2, message = $3, updated_ms = $4 WHERE name = $1",
                name,
                state,
                message,
                now_ms(),
            )
            row = await self._row(conn, name)
            await self._changed(conn, et.DEPLOYMENT_UPDATED, row, message or state.lower())

    async def delete(self, name: str) -> None:
        async with self.db.pool.acquire() as conn, conn.transaction():
            row = await self._row(conn, name)
            await conn.execute("DELETE FROM deployments WHERE name = $1", name)
            await self._changed(conn, et.DEPLOYMENT_DELETED, row, "deleted")

    async def publish(self, events: list[Event]) -> None:
        """Events about a change already stored (or about to be forgotten)."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            await self.outbox.add_events(conn, events)

    # -- replicas ------------------------------------------------------------------

    async def add_replica(self, name: str, row: ReplicaRow) -> None:
        await self.db.pool.execute(
            "INSERT INTO replicas (job_id, deployment, revision, state, created_ms)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id) DO NOTHING",
            row.job_id,
            name,
            row.revision,
            row.state,
            row.created_ms,
        )

    async def replica_ready(self, replica: ReplicaRow) -> None:
        metadata = replica.metadata.SerializeToString() if replica.metadata else None
        await self.db.pool.execute(
            "UPDATE replicas SET state = $2, http_address = $3, grpc_address = $4,"
            " metadata = $5, ready_ms = $6 WHERE job_id = $1",
            replica.job_id,
            replica.state,
            replica.http_address,
            replica.grpc_address,
            metadata,
            replica.ready_ms,
        )

    async def replica_state(self, job_id: str, state: str) -> None:
        await self.db.pool.execute(
            "UPDATE replicas SET state = $2 WHERE job_id = $1", job_id, state
        )

    async def remove_replica(self, job_id: str) -> None:
        await self.db.pool.execute("DELETE FROM replicas WHERE job_id = $1", job_id)

    # -- reading ---------------------------------------------------------------------

    async def _changed(
        self, conn: asyncpg.Connection, kind: et.EventType, row: DeploymentRow, reason: str
    ) -> None:
        payload = ev.DeploymentChanged(deployment=records.deployment(row), reason=reason)
        await self.outbox.add(conn, kind, row.name, payload)

    async def _must_exist(self, conn: asyncpg.Connection, name: str, *, lock: bool) -> None:
        sql = "SELECT 1 FROM deployments WHERE name = $1" + (" FOR UPDATE" if lock else "")
        if not await conn.fetchval(sql, name):
            raise NotFound(f"deployment '{name}' not found", entity="deployment", field="name")

    async def _row(self, conn: asyncpg.Connection, name: str) -> DeploymentRow:
        d = await conn.fetchrow(
            "SELECT name, spec, state, message, created_ms, updated_ms FROM deployments"
            " WHERE name = $1",
            name,
        )
        if d is None:
            raise NotFound(f"deployment '{name}' not found", entity="deployment", field="name")
        revisions = [
            RevisionRow(
                r["revision"],
                r["role"],
                r["model_uri"],
                r["resolved_uri"],
                r["model_name"],
                r["model_version"],
                r["percent"],
                r["created_ms"],
            )
            for r in await conn.fetch(
                "SELECT * FROM revisions WHERE deployment = $1 ORDER BY revision", name
            )
        ]
        replicas = [
            ReplicaRow(
                r["job_id"],
                r["revision"],
                r["state"],
                r["http_address"],
                r["grpc_address"],
                ipb.ModelMetadataResponse.FromString(r["metadata"]) if r["metadata"] else None,
                r["created_ms"],
                r["ready_ms"],
            )
            for r in await conn.fetch(
                "SELECT * FROM replicas WHERE deployment = $1 ORDER BY created_ms", name
            )
        ]
        return DeploymentRow(
            d["name"],
            pb.DeploymentSpec.FromString(d["spec"]),
            d["state"],
            d["message"],
            d["created_ms"],
            d["updated_ms"],
            revisions,
            replicas,
        )

    async def _add_revision(self, conn: asyncpg.Connection, name: str, row: RevisionRow) -> None:
        row.revision = await conn.fetchval(
            "UPDATE deployments SET next_revision = next_revision + 1 WHERE name = $1"
            " RETURNING next_revision - 1",
            name,
        )
        row.created_ms = now_ms()
        await conn.execute(
            "INSERT INTO revisions (deployment, revision, role, model_uri, resolved_uri,"
            " model_name, model_version, percent, created_ms)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            name,
            row.revision,
            row.role,
            row.model_uri,
            row.resolved_uri,
            row.model_name,
            row.model_version,
            row.percent,
            row.created_ms,
        )

    async def _set_role(
        self, conn: asyncpg.Connection, name: str, revision: int, role: str
    ) -> None:
        if role == "gone":
            await conn.execute(
                "DELETE FROM revisions WHERE deployment = $1 AND revision = $2", name, revision
            )
            return
        await conn.execute(
            "UPDATE revisions SET role = $3 WHERE deployment = $1 AND revision = $2",
            name,
            revision,
            role,
        )
