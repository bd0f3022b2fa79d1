"""PostgreSQL through one asyncpg pool per service, and its migrations.

Each service owns one schema (`Settings.schema_for(service)`); connections
set `search_path` to it, so a service's SQL names its tables unqualified and
cannot touch another's by accident. Migrations are plain SQL files applied
in name order, each in its own transaction, under an advisory lock so that
replicas starting together apply them once.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncpg
from prometheus_client import Gauge

from switchyard.core.paging import PageQuery, cut

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 5.0

POOL_SIZE = Gauge("switchyard_db_pool_connections", "Connections in the pool", ["schema"])
POOL_IDLE = Gauge("switchyard_db_pool_idle", "Idle connections in the pool", ["schema"])
SEARCH_POOL_SIZE = 4  # searches are few and long; point lookups get the main pool


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool release without asyncpg's default RESET ALL / UNLISTEN round trip.

    asyncpg still rolls back an open transaction first. Nothing here leaves
    session state behind: settings are connection parameters, nothing LISTENs,
    and the one session advisory lock (migrate) is released in a finally.
    That round trip was a third of a point lookup.
    """
    if isinstance(conn, Connection):
        conn._after_commit.clear()  # of a transaction left open, now rolled back


class Connection(asyncpg.Connection):  # type: ignore[misc]
    """The pools' connection: runs callbacks once its outermost transaction commits.

    The outbox wakes its relay this way rather than by NOTIFY inside the
    transaction: PostgreSQL serializes the commits of notifying transactions
    (one WAL flush each), which capped every service's write rate.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` when the current transaction commits (not if it rolls back)."""
        self._after_commit.append(callback)

    def transaction(self, **options: Any) -> _Transaction:
        return _Transaction(self, super().transaction(**options))

    def _transaction_ended(self, committed: bool) -> None:
        if self.is_in_transaction():  # a savepoint: the outer transaction decides
            return
        callbacks, self._after_commit = self._after_commit, []
        if committed:
            for callback in callbacks:
                callback()


class _Transaction:
    """`async with conn.transaction():` as asyncpg's, telling the connection how it ended."""

    def __init__(self, conn: Connection, inner: Any) -> None:
        self._conn = conn
        self._inner = inner

    async def __aenter__(self) -> None:
        await self._inner.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._inner.__aexit__(exc_type, exc, tb)
        except BaseException:
            self._conn._transaction_ended(committed=False)
            raise
        self._conn._transaction_ended(committed=exc_type is None)


def lock_key(name: str) -> int:
    """A stable 32-bit advisory-lock key for a name."""
    return zlib.crc32(name.encode())


class Database:
    """Owns the pool for one schema. `async with Database(...) as db:`."""

    def __init__(self, dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self.schema = schema
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._search_pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def search_pool(self) -> asyncpg.Pool:
        """Connections that plan every statement for its values: for searches.

        A search's selectivity hangs on its values (`metrics.acc > $1`); the
        generic plan PostgreSQL settles on after five runs of a cached
        statement ignores them and was 10-50x slower. Point lookups and writes
        use `pool`, where a cached plan saves ~0.1 ms of planning per call.
        """
        if self._search_pool is None:
            raise RuntimeError("database is not open")
        return self._search_pool

    async def search(self, query: PageQuery, limit: int) -> tuple[list[asyncpg.Record], str]:
        """One page of a search, on the search pool, and the token of the next page
        ("" on the last one: the statement's extra row tells whether there is more)."""
        return cut(await self.search_pool.fetch(query.sql, *query.args), query, limit)

    async def open(self) -> None:
        if self._pool is not None:
            return
        await self._create_schema()
        self._pool = await self._create_pool(self._min_size, self._max_size, "auto")
        # Opened on the first search, closed after a minute unused: most services
        # search rarely, and an idle backend costs PostgreSQL ~10 MB.
        self._search_pool = await self._create_pool(
            0, SEARCH_POOL_SIZE, "force_custom_plan", idle_s=60.0
        )
        POOL_SIZE.labels(self.schema).set_function(
            lambda: self._pool.get_size() if self._pool else 0
        )
        POOL_IDLE.labels(self.schema).set_function(
            lambda: self._pool.get_idle_size() if self._pool else 0
        )

    async def reachable(self, within_s: float = 1.0) -> bool:
        """Whether a statement runs now (readiness: a service whose database is
        gone must not take traffic)."""
        from switchyard.core.transient import UNAVAILABLE

        try:
            async with asyncio.timeout(within_s):
                await self.pool.fetchval("SELECT 1")
        except UNAVAILABLE:
            return False
        return True

    async def _create_pool(
        self, min_size: int, max_size: int, plans: str, idle_s: float = 300.0
    ) -> asyncpg.Pool:
        return await asyncpg.create_pool(
            self.dsn,
            min_size=min_size,
            max_size=max_size,
            max_inactive_connection_lifetime=idle_s,
            reset=_keep_session,
            connection_class=Connection,
            server_settings={
                "search_path": self.schema,
                "application_name": "switchyard",
                "plan_cache_mode": plans,
                # Short OLTP queries on a few cores: worker start-up costs more than it saves.
                "max_parallel_workers_per_gather": "0",
            },
        )

    async def close(self) -> None:
        pools, self._pool, self._search_pool = (self._pool, self._search_pool), None, None
        for pool in pools:
            if pool is None:
                continue
            # A graceful close waits for every connection to come back, which a
            # PostgreSQL that is gone never lets happen: then cut them.
            try:
                await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT_S)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pool.terminate()

    async def _create_schema(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            # CREATE SCHEMA IF NOT EXISTS can race between replicas; the lock serializes it.
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key("schemas"))
                # A service's own role may not create schemas (the platform made
                # its schema for it): only create what is missing.
                exists = await conn.fetchval(
                    "SELECT 1 FROM pg_namespace WHERE nspname = $1", self.schema
                )
                if not exists:
                    await conn.execute(f'CREATE SCHEMA "{self.schema}"')
        finally:
            await conn.close()

    async def migrate(self, sources: Sequence[Path | tuple[str, str]]) -> list[str]:
        """Apply pending migrations; return the names applied.

        A source is a folder of `NNN_*.sql` files or a `(name, sql)` pair
        (the shared runtime's own tables, such as the outbox).
        """
        steps: list[tuple[str, str]] = []
        for source in sources:
            if isinstance(source, tuple):
                steps.append(source)
            else:
                steps.extend((p.name, p.read_text()) for p in sorted(source.glob("*.sql")))
        applied: list[str] = []
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", lock_key(f"migrate:{self.schema}"))
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
                done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
                for name, sql in steps:
                    if name in done:
                        continue
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
                    applied.append(name)
                    log.info("applied migration", extra={"migration": name, "schema": self.schema})
            finally:
                await conn.execute(
                    "SELECT pg_advisory_unlock($1)", lock_key(f"migrate:{self.schema}")
                )
        return applied

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.pool.fetchval(sql, *args)
