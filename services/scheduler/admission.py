"""Admission: which pending jobs may start now, in what order.

Within a queue the highest priority goes first, then FIFO. A job is
admitted when its queue is not paused, its queue's quota (CPUs, GPUs,
memory held by admitted and running jobs, and their number) has room for
all of it and its pool's live workers have free slots for every gang
member (first fit, in worker order); a gang is admitted whole or not at
all. A job that does not fit is passed over, so smaller jobs behind it may
go (Kueue's BestEffortFIFO). A job larger than its queue's limits could
never be admitted: `Quota.refusal` says why, in words, at submit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class Need:
    cpus: float
    memory_mb: int
    gpus: int
    gpu_type: str = ""

    def fits(self, free: Slot) -> bool:
        return (
            self.cpus <= free.cpus + 1e-9
            and self.memory_mb <= free.memory_mb
            and self.gpus <= free.gpus
            and (not self.gpu_type or self.gpus == 0 or self.gpu_type == free.gpu_type)
        )

    def words(self) -> str:
        """'2 CPUs, 4 GB of memory and 1 GPU (a100)', for messages people read."""
        parts = [cpus_words(self.cpus)]
        if self.memory_mb:
            parts.append(f"{memory_words(self.memory_mb)} of memory")
        if self.gpus:
            parts.append(gpus_words(self.gpus) + (f" ({self.gpu_type})" if self.gpu_type else ""))
        return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def cpus_words(cpus: float) -> str:
    return f"{cpus:g} CPU" + ("" if cpus == 1 else "s")


def gpus_words(gpus: float) -> str:
    return f"{gpus:g} GPU" + ("" if gpus == 1 else "s")


def memory_words(mb: float) -> str:
    if mb < 1024:
        return f"{mb:g} MB"
    return f"{mb / 1024:g} GB" if mb % 1024 == 0 else f"{mb / 1024:.1f} GB"


@dataclass
class Slot:
    """One worker's free resources."""

    worker_id: str
    cpus: float
    memory_mb: int
    gpus: int
    gpu_type: str = ""

    def take(self, need: Need) -> None:
        self.cpus -= need.cpus
        self.memory_mb -= need.memory_mb
        self.gpus -= need.gpus


@dataclass
class Quota:
    """A queue's limits (None: no limit) and what its admitted and running jobs hold."""

    max_cpus: float | None = None
    max_gpus: int | None = None
    max_memory_mb: int | None = None
    max_jobs: int | None = None
    paused: bool = False
    used_cpus: float = 0.0
    used_gpus: int = 0
    used_memory_mb: int = 0
    used_jobs: int = 0

    def room(self, need: Need, count: int) -> bool:
        """Whether `count` processes of `need` (one job) may be admitted now."""
        if self.paused:
            return False
        return (
            _within(self.used_cpus + need.cpus * count, self.max_cpus)
            and _within(self.used_gpus + need.gpus * count, self.max_gpus)
            and _within(self.used_memory_mb + need.memory_mb * count, self.max_memory_mb)
            and _within(self.used_jobs + 1, self.max_jobs)
        )

    def take(self, need: Need, count: int) -> None:
        self.used_cpus += need.cpus * count
        self.used_gpus += need.gpus * count
        self.used_memory_mb += need.memory_mb * count
        self.used_jobs += 1

    def refusal(self, queue: str, need: Need, count: int) -> Refusal | None:
        """Why a job of `count` processes of `need` could never be admitted,
        even with the queue idle; None where it could."""
        for what, asked, most, words in (
            ("cpus", need.cpus, self.max_cpus, cpus_words),
            ("gpus", need.gpus, self.max_gpus, gpus_words),
            ("memory_mb", need.memory_mb, self.max_memory_mb, memory_words),
        ):
            if most is None or asked * count <= most + 1e-9:
                continue
            needs = words(asked * count) + (" of memory" if what == "memory_mb" else "")
            spec_field = f"resources.{what}"
            if count > 1:
                needs += f" ({count} processes of {words(asked)} each)"
                spec_field = "gang_size" if asked <= most + 1e-9 else spec_field
            allowed = memory_words(most) if what == "memory_mb" else f"{most:g}"
            message = f"needs {needs}; queue '{queue}' allows at most {allowed}"
            return Refusal(f"max_{what}", spec_field, message)
        return None


class Refusal(NamedTuple):
    """A job its queue could never admit: the limit, the job spec's field, and why."""

    limit: str  # max_cpus, max_gpus, max_memory_mb
    field: str  # resources.cpus, ..., or gang_size where one process alone would fit
    message: str  # "needs 2 CPUs; queue 'q' allows at most 1"


def _within(value: float, most: float | None) -> bool:
    return most is None or value <= most + 1e-9


@dataclass(frozen=True)
class Pending:
    job_id: str
    queue: str
    pool: str
    need: Need
    gang_size: int


@dataclass
class Cluster:
    """Free slots per pool and quota per queue, as admission consumes them."""

    pools: dict[str, list[Slot]] = field(default_factory=dict)
    quotas: dict[str, Quota] = field(default_factory=dict)

    def place(self, pool: str, need: Need, count: int) -> list[Slot] | None:
        """First-fit `count` members on the pool's workers; None if they don't all fit."""
        slots = self.pools.get(pool, [])
        trial = [Slot(s.worker_id, s.cpus, s.memory_mb, s.gpus, s.gpu_type) for s in slots]
        placed: list[Slot] = []
        for _ in range(count):
            target = next((s for s in trial if need.fits(s)), None)
            if target is None:
                return None
            target.take(need)
            placed.append(target)
        for real, tried in zip(slots, trial, strict=True):
            real.cpus, real.memory_mb, real.gpus = tried.cpus, tried.memory_mb, tried.gpus
        return placed

    def admit(self, pending: list[Pending]) -> list[Pending]:
        """The jobs to admit now, from `pending` in priority-then-FIFO order."""
        admitted: list[Pending] = []
        for job in pending:
            quota = self.quotas.get(job.queue)
            if quota is not None and not quota.room(job.need, job.gang_size):
                continue
            if self.place(job.pool, job.need, job.gang_size) is None:
                continue
            if quota is not None:
                quota.take(job.need, job.gang_size)
            admitted.append(job)
        return admitted

    def could_ever_fit(self, pool: str, need: Need, count: int, capacity: list[Slot]) -> bool:
        """Whether the pool's whole capacity (all idle) could hold the gang."""
        saved = self.pools.get(pool)
        self.pools[pool] = capacity
        try:
            return self.place(pool, need, count) is not None
        finally:
            if saved is None:
                self.pools.pop(pool, None)
            else:
                self.pools[pool] = saved
