"""What recording a job's provenance costs a worker, per job start.

    python tests/bench/bench_provenance.py [--jobs 50]

`provenance.record` for a job run in a git work tree (this repository) and
in a folder outside one: the git commit and uncommitted-changes digest (or
the files' digest), the pip freeze (remembered per interpreter after the
first job, printed apart), the command and resources. Medians of `--jobs`
calls on this machine; the worker runs it once per attempt that has a run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.trainer_worker import provenance


async def timed(spec: pb.JobSpec, cwd: Path, jobs: int) -> list[float]:
    env = dict(os.environ)
    out = []
    for _ in range(jobs):
        start = time.perf_counter()
        await provenance.record(spec, env, cwd)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    repo = Path(__file__).resolve().parents[2]
    spec = pb.JobSpec(command=[sys.executable, "train.py"], pool="default", queue="default")
    with tempfile.TemporaryDirectory() as plain:
        (Path(plain) / "train.py").write_text("print('hi')\n")
        first = asyncio.run(timed(spec, Path(plain), 1))[0]  # includes the freeze
        for label, cwd in (("git work tree (this repo)", repo), ("plain folder", Path(plain))):
            ms = asyncio.run(timed(spec, cwd, args.jobs))
            print(
                f"{label:28} median {statistics.median(ms):6.1f} ms  p90 "
                f"{sorted(ms)[int(len(ms) * 0.9)]:6.1f} ms"
            )
    print(f"{'first job (pip freeze)':28} {first:6.1f} ms")


if __name__ == "__main__":
    main()
