"""A soak: `switchyard up` under the chaos suite's mixed load, no faults, while
the memory of every process is sampled. Flat memory is the pass mark.

    python tests/chaos/soak.py --minutes 10

Prints each part's memory (PSS: RSS with shared pages split among their users)
after a minute's warm-up, at the end and at its peak, and how much it grew per
minute over the second half of the run (a leak keeps growing; caches level off).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))

from chaos_load import Acknowledged, Worker, start_load

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.testing.up import UpProcess


def pss_mb(pid: int, with_children: bool = False) -> float:
    """Proportional set size in MB (shared pages split between their users, so that
    PostgreSQL's backends, counted with it, do not count its shared buffers again)."""
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)] if with_children else [proc]
        return sum(float(p.memory_full_info().pss) for p in procs) / 2**20
    except psutil.Error:
        return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=15.0, help="seconds between samples")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="switchyard-soak-") as tmp:
        with UpProcess(Path(tmp) / "home") as up:
            soak(up, args.minutes * 60, args.every)


def soak(up: UpProcess, seconds: float, every: float) -> None:
    settings = Settings(home=up.home)
    experiment_id = sy.Client(settings=settings).create_experiment("soak")
    acked = Acknowledged()
    workers = start_load(settings, up.endpoints["http"]["web"], experiment_id, acked, 0.2)
    samples: list[tuple[float, dict[str, float]]] = []
    start = time.monotonic()
    try:
        while (now := time.monotonic() - start) < seconds:
            pids = {name: c["pid"] for name, c in up.state()["children"].items()}
            samples.append((now, {n: pss_mb(pid, n == "postgres") for n, pid in pids.items()}))
            print(f"{now:6.0f}s  " + "  ".join(f"{n} {m:.0f}" for n, m in samples[-1][1].items()))
            time.sleep(every)
    finally:
        for w in workers:
            w.stop()
    report(samples, acked, workers)


def report(
    samples: list[tuple[float, dict[str, float]]], acked: Acknowledged, workers: list[Worker]
) -> None:
    warm = [s for s in samples if s[0] >= 60] or samples
    half = warm[len(warm) // 2 :]
    print(
        f"\nload: {len(acked.sdk_runs)} SDK runs, {sum(acked.sdk_runs.values())} points, "
        f"{len(acked.mlflow_runs)} mlflow runs, {len(acked.jobs)} jobs; errors "
        f"{ {w.name: dict(w.errors) for w in workers} }"
    )
    print(f"{'part':12s} {'after 1 min':>12s} {'end':>8s} {'peak':>8s} {'MB/min, 2nd half':>18s}")
    for part in warm[0][1]:
        first, last = warm[0][1][part], warm[-1][1][part]
        peak = max(s[1].get(part, 0.0) for s in warm)
        minutes = (half[-1][0] - half[0][0]) / 60 or 1.0
        slope = (half[-1][1][part] - half[0][1][part]) / minutes
        print(f"{part:12s} {first:12.1f} {last:8.1f} {peak:8.1f} {slope:18.2f}")


if __name__ == "__main__":
    main()
