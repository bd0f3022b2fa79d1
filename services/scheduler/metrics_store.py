"""The SQL behind the scheduler's sampled gauges: one read-only statement.

Every part reads through a partial index (jobs waiting or active) or a
small table (queues, workers), never the jobs' whole history, so the
sample stays cheap however many jobs have ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from switchyard.core.db import Database
from switchyard.core.ids import now_ms
from switchyard.services.scheduler.store import WORKER_TTL_S

ACTIVE_STATES = ("QUEUED", "RETRYING", "ADMITTED", "RUNNING")

# One row per queue (waiting jobs, oldest submit), per pool with waiting jobs,
# per active state, per pool with live workers (their capacity) and per pool
# with running jobs (what they hold, every gang member counted).
_SAMPLE = """
SELECT 'queue' AS kind, q.name, count(j.job_id) AS n,
       coalesce(min(j.created_ms), 0)::bigint AS oldest_ms,
       0::float8 AS cpus, 0::bigint AS memory_mb, 0::bigint AS gpus
FROM queues q LEFT JOIN jobs j ON j.queue = q.name AND j.state IN ('QUEUED', 'RETRYING')
GROUP BY q.name
UNION ALL
SELECT 'waiting', pool, count(*), 0, 0, 0, 0
FROM jobs WHERE state IN ('QUEUED', 'RETRYING') GROUP BY pool
UNION ALL
SELECT 'state', state, count(*), 0, 0, 0, 0
FROM jobs WHERE state IN ('QUEUED', 'RETRYING', 'ADMITTED', 'RUNNING') GROUP BY state
UNION ALL
SELECT 'capacity', pool, count(*), 0, sum(cpus), sum(memory_mb)::bigint, sum(gpus)::bigint
FROM workers WHERE last_seen > now() - make_interval(secs => $1) GROUP BY pool
UNION ALL
SELECT 'used', pool, count(*), 0, sum(cpus * gang_size), sum(memory_mb * gang_size)::bigint,
       sum(gpus * gang_size)::bigint
FROM jobs WHERE state = 'RUNNING' GROUP BY pool
"""


@dataclass(frozen=True)
class Resources:
    cpus: float = 0.0
    memory_mb: int = 0
    gpus: int = 0


@dataclass
class Sample:
    """What the scheduler's gauges show, as of `taken_ms`."""

    taken_ms: int
    queued: dict[str, int] = field(default_factory=dict)  # by queue
    oldest_ms: dict[str, int] = field(default_factory=dict)  # by queue, 0: none waiting
    waiting_by_pool: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)  # by active state
    workers: dict[str, int] = field(default_factory=dict)  # live, by pool
    capacity: dict[str, Resources] = field(default_factory=dict)  # of live workers, by pool
    used: dict[str, Resources] = field(default_factory=dict)  # by running jobs, by pool


class MetricsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def sample(self) -> Sample:
        rows = await self.db.pool.fetch(_SAMPLE, WORKER_TTL_S)
        sample = Sample(now_ms(), jobs=dict.fromkeys(ACTIVE_STATES, 0))
        for r in rows:
            kind, name, n = r["kind"], r["name"], r["n"]
            resources = Resources(r["cpus"] or 0.0, r["memory_mb"] or 0, r["gpus"] or 0)
            if kind == "queue":
                sample.queued[name], sample.oldest_ms[name] = n, r["oldest_ms"]
            elif kind == "waiting":
                sample.waiting_by_pool[name] = n
            elif kind == "state":
                sample.jobs[name] = n
            elif kind == "capacity":
                sample.workers[name], sample.capacity[name] = n, resources
            else:
                sample.used[name] = resources
        return sample
