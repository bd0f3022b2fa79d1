"""The tuner process's loop: each running study driven by one replica at a time.

A study is driven by the replica that holds its PostgreSQL advisory lock
(session-level, on one connection this loop keeps for its lifetime). A
replica that dies loses its connection, and with it its locks; another
replica takes the study over on its next pass and rebuilds the study's
driver from the stored trials. A pass runs when an event for a study was
recorded in this process (`wake`), else every `POLL_S` (events recorded by
another replica, a time budget running out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

import asyncpg

from switchyard.core.db import Database, lock_key
from switchyard.services.tuner.runners import RunnerPool
from switchyard.services.tuner.store import TunerStore
from switchyard.services.tuner.study_driver import StudyDriver
from switchyard.services.tuner.trials import Launcher

log = logging.getLogger(__name__)
POLL_S = 0.5
COOLDOWN_S = 2.0  # after a failed step, before the study is taken up again


class Driver:
    def __init__(
        self, db: Database, store: TunerStore, launcher: Launcher, runners: RunnerPool
    ) -> None:
        self.db = db
        self.store = store
        self.launcher = launcher
        self.runners = runners
        self._drivers: dict[uuid.UUID, StudyDriver] = {}
        self._wake = asyncio.Event()
        self._cooldown: dict[uuid.UUID, float] = {}

    def wake(self, study_id: str = "") -> None:
        self._wake.set()

    def _key(self, study_id: uuid.UUID) -> int:
        # Advisory locks are database-wide: the schema keeps platforms apart.
        return lock_key(f"{self.db.schema}:tuner-study:{study_id.hex}")

    async def run(self) -> None:
        while True:
            try:
                async with self.db.pool.acquire() as conn:
                    try:
                        await self._loop(conn)
                    finally:
                        self._drivers.clear()
                        with contextlib.suppress(Exception):
                            await conn.execute("SELECT pg_advisory_unlock_all()")
            except Exception as exc:
                log.warning("tuner loop failed; retrying", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)

    async def _loop(self, conn: asyncpg.Connection) -> None:
        while True:
            self._wake.clear()
            await self._pass(conn)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_S)

    async def _pass(self, conn: asyncpg.Connection) -> None:
        now = asyncio.get_running_loop().time()
        for study_id in await self.store.studies_to_drive():
            if study_id in self._drivers or self._cooldown.get(study_id, 0.0) > now:
                continue
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key(study_id)):
                continue  # another replica drives it
            try:
                self._drivers[study_id] = await StudyDriver.open(
                    study_id, self.store, self.launcher, self.runners
                )
            except Exception:
                log.exception("could not take up a study", extra={"study_id": study_id.hex})
                self._cooldown[study_id] = now + COOLDOWN_S
                await self._release(conn, study_id)
        for study_id, driver in list(self._drivers.items()):
            try:
                done = await driver.step()
            except asyncpg.PostgresConnectionError:
                raise
            except Exception:
                # Rebuilt from the stored trials on a later pass.
                log.exception("study step failed", extra={"study": driver.name})
                self._cooldown[study_id] = now + COOLDOWN_S
                done = True
            if done:
                await self._release(conn, study_id)

    async def _release(self, conn: asyncpg.Connection, study_id: uuid.UUID) -> None:
        self._drivers.pop(study_id, None)
        await conn.execute("SELECT pg_advisory_unlock($1)", self._key(study_id))
