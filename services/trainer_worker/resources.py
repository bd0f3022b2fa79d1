"""What a worker has (detected or told) and what of it is free right now."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from switchyard.proto.v1 import scheduler_pb2 as pb


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_mb: int


def detect_gpus() -> list[Gpu]:
    """NVIDIA GPUs from `nvidia-smi`, or none when it is absent or fails."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        index, name, memory = (part.strip() for part in line.split(","))
        gpus.append(Gpu(int(index), name, int(float(memory))))
    return gpus


def detect_memory_mb() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError):
        return 0


def gpu_type(name: str) -> str:
    """A short type from the marketing name, what users put in `gpu_type`:
    'NVIDIA H100 80GB HBM3' -> 'h100', 'Tesla V100-SXM2-16GB' -> 'v100',
    'NVIDIA GeForce RTX 4090' -> 'rtx4090'."""
    vendor = ("nvidia", "tesla", "geforce", "quadro")
    words = [w for w in name.lower().replace("-", " ").split() if w not in vendor]
    if not words:
        return ""
    if words[0] in ("rtx", "gtx", "titan") and len(words) > 1:
        return words[0] + words[1]
    return words[0]


@dataclass
class Ledger:
    """The worker's capacity and what running jobs hold of it."""

    cpus: float
    memory_mb: int
    gpus: list[int] = field(default_factory=list)
    gpu_type: str = ""
    used_cpus: float = 0.0
    used_memory_mb: int = 0
    free_gpus: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.free_gpus = list(self.gpus)

    @classmethod
    def detect(
        cls, cpus: float | None = None, gpus: int | None = None, memory_mb: int | None = None
    ) -> Ledger:
        found = detect_gpus()
        indexes = [g.index for g in found]
        if gpus is not None:
            indexes = indexes[:gpus] if found else list(range(gpus))
        kind = gpu_type(found[0].name) if found else ""
        return cls(
            cpus=float(cpus if cpus is not None else (os.cpu_count() or 1)),
            memory_mb=memory_mb if memory_mb is not None else detect_memory_mb(),
            gpus=indexes,
            gpu_type=kind,
        )

    def capacity(self) -> pb.Resources:
        return pb.Resources(
            cpus=self.cpus, memory_mb=self.memory_mb, gpus=len(self.gpus), gpu_type=self.gpu_type
        )

    def has_room(self) -> bool:
        return self.used_cpus < self.cpus - 1e-9 or (self.cpus == 0 and bool(self.free_gpus))

    def fits(self, need: pb.Resources) -> bool:
        return (
            self.used_cpus + need.cpus <= self.cpus + 1e-9
            and (need.memory_mb == 0 or self.used_memory_mb + need.memory_mb <= self.memory_mb)
            and need.gpus <= len(self.free_gpus)
            and (not need.gpu_type or need.gpus == 0 or need.gpu_type == self.gpu_type)
        )

    def take(self, need: pb.Resources) -> list[int]:
        """Hold the resources; return the GPU indexes assigned."""
        self.used_cpus += need.cpus
        self.used_memory_mb += need.memory_mb
        assigned, self.free_gpus = self.free_gpus[: need.gpus], self.free_gpus[need.gpus :]
        return assigned

    def give(self, need: pb.Resources, assigned: list[int]) -> None:
        self.used_cpus -= need.cpus
        self.used_memory_mb -= need.memory_mb
        self.free_gpus = sorted([*self.free_gpus, *assigned])
