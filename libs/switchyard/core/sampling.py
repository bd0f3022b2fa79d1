"""Gauges sampled from a service's own state when Prometheus scrapes them.

Some gauges (queue depth, workers by pool, trials running) are facts in
the database, not events in one process: a service registers a sampler
(one aggregate query that sets its gauges), and the ops port's `/metrics`
runs the samplers before it answers. An idle platform that nobody scrapes
therefore queries nothing and holds no extra database connection (the
memory budget of `switchyard up` counts every PostgreSQL backend). A
sampler runs at most once per `MIN_INTERVAL_S` however often it is scraped,
and gets `TIMEOUT_S`: a slow or failed sample leaves the last values, never
a hung scrape. Replicas sample the same facts; dashboards take `max()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)
MIN_INTERVAL_S = 2.0
TIMEOUT_S = 2.0


@dataclass(eq=False)
class Sampler:
    sample: Callable[[], Awaitable[None]]
    what: str
    last: float = float("-inf")  # monotonic time of the last sample started


_samplers: list[Sampler] = []


def on_scrape(sample: Callable[[], Awaitable[None]], what: str) -> Callable[[], None]:
    """Run `sample` before each scrape of this process's `/metrics`; returns its removal
    (for the service's exit stack: a stopped service's pool is closed)."""
    sampler = Sampler(sample, what)
    _samplers.append(sampler)
    return lambda: _samplers.remove(sampler) if sampler in _samplers else None


async def refresh() -> None:
    """Run the samplers whose last sample is older than MIN_INTERVAL_S (the scrape's hook)."""
    now = time.monotonic()
    due = [s for s in _samplers if now - s.last >= MIN_INTERVAL_S]
    for s in due:
        s.last = now
    await asyncio.gather(*(_one(s) for s in due))


async def _one(sampler: Sampler) -> None:
    try:
        await asyncio.wait_for(sampler.sample(), TIMEOUT_S)
    except Exception as exc:  # an outage, a slow query, a closing pool: the last values stay
        log.warning("metrics sample failed", extra={"metrics": sampler.what, "error": repr(exc)})
