"""Gauges sampled from a service's own state on a timer.

Some gauges (queue depth, workers by pool, trials running) are facts in
the database, not events in one process: a service reads them with one
aggregate query every few seconds and sets its gauges from the answer, so
a scrape never waits on the database and costs it nothing. Replicas of a
service each sample the same facts; dashboards take `max()` over them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from switchyard.core.transient import TRANSIENT

log = logging.getLogger(__name__)
SAMPLE_EVERY_S = 5.0


async def sample_every(
    sample: Callable[[], Awaitable[None]], what: str, every_s: float = SAMPLE_EVERY_S
) -> None:
    """Run `sample` every `every_s` for the service's life (a `Runtime.background` loop).

    An outage costs a sample, never the loop: the gauges keep their last values.
    """
    while True:
        try:
            await sample()
        except TRANSIENT as exc:
            log.warning("metrics sample failed", extra={"metrics": what, "error": repr(exc)})
        await asyncio.sleep(every_s)
