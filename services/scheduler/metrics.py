"""The scheduler's Prometheus metrics.

Counters (admissions, their wait) count what this replica did: sum them
over replicas. Gauges are read from the database when scraped
(`metrics_store.py`, core.sampling), so every replica shows the same
values: take `max()` over replicas, never `sum()`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from switchyard.services.scheduler.metrics_store import MetricsStore, Resources, Sample

_SAME = " (the same on every scheduler replica: take max())"

QUEUED = Gauge(
    "switchyard_scheduler_queued_jobs", "Jobs waiting for admission, by queue" + _SAME, ["queue"]
)
OLDEST_WAIT = Gauge(
    "switchyard_scheduler_oldest_wait_seconds",
    "Age of the oldest waiting job, by queue; 0 when none waits" + _SAME,
    ["queue"],
)
POOL_QUEUED = Gauge(
    "switchyard_scheduler_pool_queued_jobs",
    "Jobs waiting for admission, by the pool they run in" + _SAME,
    ["pool"],
)
JOBS = Gauge(
    "switchyard_scheduler_jobs",
    "Jobs not yet ended, by state (QUEUED, RETRYING, ADMITTED, RUNNING)" + _SAME,
    ["state"],
)
WORKERS = Gauge(
    "switchyard_scheduler_workers",
    "Live trainer-workers (heartbeat within the TTL) by pool; 0 for a pool"
    " with waiting jobs and none" + _SAME,
    ["pool"],
)
CAPACITY_CPUS = Gauge(
    "switchyard_scheduler_pool_capacity_cpus", "CPUs the live workers offer" + _SAME, ["pool"]
)
CAPACITY_GPUS = Gauge(
    "switchyard_scheduler_pool_capacity_gpus", "GPUs the live workers offer" + _SAME, ["pool"]
)
CAPACITY_MEMORY = Gauge(
    "switchyard_scheduler_pool_capacity_memory_bytes",
    "Memory the live workers offer" + _SAME,
    ["pool"],
)
USED_CPUS = Gauge(
    "switchyard_scheduler_pool_used_cpus", "CPUs held by running jobs" + _SAME, ["pool"]
)
USED_GPUS = Gauge(
    "switchyard_scheduler_pool_used_gpus", "GPUs held by running jobs" + _SAME, ["pool"]
)
USED_MEMORY = Gauge(
    "switchyard_scheduler_pool_used_memory_bytes", "Memory held by running jobs" + _SAME, ["pool"]
)
ADMISSIONS = Counter(
    "switchyard_scheduler_admissions_total", "Jobs admitted by this replica, by queue", ["queue"]
)
ADMISSION_WAIT = Histogram(
    "switchyard_scheduler_admission_wait_seconds",
    "Time from submit to first admission, by queue",
    ["queue"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600),
)

_BY_POOL = (
    (CAPACITY_CPUS, CAPACITY_GPUS, CAPACITY_MEMORY),
    (USED_CPUS, USED_GPUS, USED_MEMORY),
)
MB = 1024 * 1024


def admitted(queue: str, wait_s: float | None) -> None:
    """Count one admission; `wait_s` since submit for a first admission (None for
    a retry's, whose wait would include the failed attempts)."""
    ADMISSIONS.labels(queue).inc()
    if wait_s is not None:
        ADMISSION_WAIT.labels(queue).observe(max(0.0, wait_s))


def show(sample: Sample) -> None:
    """Set the gauges from a sample; a queue or pool gone since the last one
    disappears (cleared first: on one event loop no scrape sees the gap)."""
    for gauge in (QUEUED, OLDEST_WAIT, POOL_QUEUED, JOBS, WORKERS):
        gauge.clear()
    for queue, n in sample.queued.items():
        QUEUED.labels(queue).set(n)
        oldest = sample.oldest_ms[queue]
        OLDEST_WAIT.labels(queue).set((sample.taken_ms - oldest) / 1000 if oldest else 0)
    for pool, n in sample.waiting_by_pool.items():
        POOL_QUEUED.labels(pool).set(n)
    for state, n in sample.jobs.items():
        JOBS.labels(state).set(n)
    for pool in {*sample.workers, *sample.waiting_by_pool}:
        WORKERS.labels(pool).set(sample.workers.get(pool, 0))
    pools = {*sample.capacity, *sample.used}
    for gauges, values in zip(_BY_POOL, (sample.capacity, sample.used), strict=True):
        _show_resources(gauges, pools, values)


def _show_resources(
    gauges: tuple[Gauge, Gauge, Gauge], pools: set[str], values: dict[str, Resources]
) -> None:
    cpus, gpus, memory = gauges
    for gauge in (cpus, gpus, memory):
        gauge.clear()
    for pool in pools:
        r = values.get(pool, Resources())
        cpus.labels(pool).set(r.cpus)
        gpus.labels(pool).set(r.gpus)
        memory.labels(pool).set(r.memory_mb * MB)


async def sample(store: MetricsStore) -> None:
    show(await store.sample())
