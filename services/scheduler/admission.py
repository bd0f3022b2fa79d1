"""Admission: which pending jobs may start now, in what order.

Within a queue the highest priority goes first, then FIFO. A job is
admitted when its queue's quota (CPUs, GPUs held by admitted and running
jobs) has room for all of it and its pool's live workers have free slots
for every gang member (first fit, in worker order); a gang is admitted
whole or not at all. A job that does not fit is passed over, so smaller
jobs behind it may go (Kueue's BestEffortFIFO).
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    max_cpus: float | None
    max_gpus: int | None
    used_cpus: float = 0.0
    used_gpus: int = 0

    def room(self, cpus: float, gpus: int) -> bool:
        ok_cpu = self.max_cpus is None or self.used_cpus + cpus <= self.max_cpus + 1e-9
        ok_gpu = self.max_gpus is None or self.used_gpus + gpus <= self.max_gpus
        return ok_cpu and ok_gpu

    def take(self, cpus: float, gpus: int) -> None:
        self.used_cpus += cpus
        self.used_gpus += gpus


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
            cpus, gpus = job.need.cpus * job.gang_size, job.need.gpus * job.gang_size
            if quota is not None and not quota.room(cpus, gpus):
                continue
            if self.place(job.pool, job.need, job.gang_size) is None:
                continue
            if quota is not None:
                quota.take(cpus, gpus)
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
