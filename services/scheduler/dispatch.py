"""Dispatch: admission passes and releasing admitted jobs to the pools' streams.

One loop, woken when something may have freed or asked for room (a submit,
a finish, a worker joining) and every second regardless. Each pass admits
what fits, then publishes the pending releases (rows written with the
admission, so a crash between the two loses nothing) to `SY_JOBS_<POOL>`
with `Nats-Msg-Id` = release id, so a republish is dropped as a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg
from nats.js.errors import NoStreamResponseError

from switchyard.core.bus import Bus
from switchyard.core.jobs import ensure_jobs_stream, jobs_subject
from switchyard.core.transient import TRANSIENT
from switchyard.services.scheduler.admission_store import AdmissionStore
from switchyard.services.scheduler.worker_store import WorkerStore

log = logging.getLogger(__name__)
REAP_EVERY_S = 2.0


class Dispatcher:
    def __init__(self, store: AdmissionStore, workers: WorkerStore, bus: Bus) -> None:
        self.store = store
        self.workers = workers
        self.bus = bus
        self._wake = asyncio.Event()
        # Each pool's stream as last seen: when NATS made it (None: unknown yet).
        self._pools: dict[str, datetime | None] = {}
        # Requeues the jobs of lost workers (the report store, set by main).
        self.on_workers_lost: Callable[[list[str]], Awaitable[object]] = _nothing

    def wake(self) -> None:
        self._wake.set()

    async def ensure_pool(self, pool: str, recheck: bool = False) -> None:
        if pool in self._pools and not recheck:
            return
        created = await ensure_jobs_stream(self.bus.js, pool, self.bus.namespace, self.bus.nc)
        if created is not None and (pool not in self._pools or created != self._pools[pool]):
            # A stream new to this process (at start, or NATS came back with an empty
            # store, whoever made it again): releases published before it are not on
            # it, so the unstarted ones go out again.
            lost = await self.store.unpublish_lost(pool, created)
            if lost:
                log.warning("republishing releases NATS lost", extra={"pool": pool, "jobs": lost})
        self._pools[pool] = created

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last_reap = 0.0
        while True:
            self._wake.clear()
            try:
                if loop.time() - last_reap > REAP_EVERY_S:
                    lost = await self.workers.reap()
                    if lost:
                        await self.on_workers_lost(lost)
                    await self.store.forget_releases()
                    await self.recheck_pools()
                    await self.release()  # any a crash left unpublished
                    last_reap = loop.time()
                admitted = await self.store.admit()
                if admitted:
                    await self.publish(admitted)
            except TRANSIENT as exc:
                log.warning("dispatch retrying", extra={"error": repr(exc)})
                if isinstance(exc, NoStreamResponseError):  # NATS came back empty
                    self._pools.clear()  # so the next pass makes the pool streams again
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)

    async def recheck_pools(self) -> None:
        """Check each pool's stream again: NATS may have come back without it."""
        for pool in {*self._pools, *await self.store.release_pools()}:
            await self.ensure_pool(pool, recheck=True)

    async def release(self) -> int:
        rows = await self.store.pending_releases()
        if rows:
            await self.publish(rows)
        return len(rows)

    async def publish(self, rows: list[asyncpg.Record]) -> None:
        for pool in {r["pool"] for r in rows}:
            await self.ensure_pool(pool)
        acks = [
            self.bus.js.publish(
                jobs_subject(r["pool"], self.bus.namespace),
                r["payload"],
                headers={"Nats-Msg-Id": f"release-{r['id']}"},
            )
            for r in rows
        ]
        await asyncio.gather(*acks)
        await self.store.mark_released([r["id"] for r in rows])


async def _nothing(lost: list[str]) -> None:
    return None
