"""Scheduler benchmark: submit -> process started latency, and trivial-job throughput.

From the repository root:

    python tests/bench/bench_scheduler.py [--latency-jobs 100] [--jobs 1000] [--submitters 4]
    python tests/bench/bench_scheduler.py --cache-only   # the pipeline cache hit alone

It starts `switchyard up` (services and one worker as processes) in a
temporary home, adds a second worker, and measures with both workers idle:

- latency: one job at a time, `/bin/date +%s%N` as the command; the time it
  prints (its exec) minus the client's clock just before `submit_job`;
  p50 / p99 over `--latency-jobs`.
- throughput: `--jobs` trivial jobs (`true`, 0.1 CPU each) submitted from
  `--submitters` threads (4); jobs/s from the first submit to the last
  finish (the job's finished_ms). The threads share one JobsClient, whose
  submits made while one is in flight go together in the next call. Each
  thread waits for its submit's answer (a durable commit), so with few
  threads the figure is bound by submit latency rather than by what the
  scheduler and workers can do; more threads show their capacity.
  `--rounds` (3) repeats it; the median is the figure (this machine's
  speed drifts within minutes).
- cache hit: an unchanged 10-step pipeline (a chain; each step runs a script
  of its own, cache on) run once to fill the cache, then `--cache-rounds`
  (20) times: from `run_pipeline` (the client digests the steps' code)
  to `wait()` seeing every step served from the cache; the median over 10
  steps is the figure. `--cache-only` measures only this one.

With `--ray-venv DIR` (a venv with `ray[default]`, made once with
`python3 -m venv /tmp/ray-venv && /tmp/ray-venv/bin/pip install "ray[default]"`)
it also starts a local Ray head and runs the same two figures through Ray
Jobs (`JobSubmissionClient`): the entrypoint `date +%s%N`, and trivial jobs
back to back.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from switchyard.core.config import Settings
from switchyard.dev.up import Platform
from switchyard.sdk.jobs import JobsClient
from switchyard.sdk.scheduler_pipelines import Pipeline, run_pipeline

UNFINISHED = ["QUEUED", "ADMITTED", "RUNNING", "RETRYING"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(
    client: JobsClient, count: int, parts: dict[str, list[float]] | None = None
) -> list[float]:
    out = []
    for _ in range(count):
        before = time.time_ns()
        job = client.submit_job(["/bin/date", "+%s%N"], cpus=0.1, name="bench-latency")
        submitted = time.time_ns()
        job.wait(timeout=30)
        started = int(job.logs().strip())
        out.append((started - before) / 1e6)
        if parts is not None:  # where the time goes: RPC, queue -> StartJob, StartJob -> exec
            parts["submit rpc"].append((submitted - before) / 1e6)
            parts["to StartJob"].append(job._proto.started_ms - before / 1e6)
            parts["StartJob to exec"].append(started / 1e6 - job._proto.started_ms)
    return out


def cache_hits(client: JobsClient, rounds: int, steps: int = 10) -> list[float]:
    """Per-step ms of a cache hit on an unchanged `steps`-step pipeline, one per round."""
    folder = Path(tempfile.mkdtemp(prefix="sy-bench-cache-"))
    pipe = Pipeline("bench-cache", cache=True)
    previous = None
    for i in range(steps):
        (folder / f"step{i}.sh").write_text(f'echo \'{{"i": "{i}"}}\' > $SWITCHYARD_OUTPUTS\n')
        after = [previous] if previous is not None else []
        previous = pipe.step(
            f"s{i}", ["sh", f"step{i}.sh"], after=after, workdir=str(folder), cpus=0.1
        )
    first = run_pipeline(pipe, client=client).wait(timeout=120)
    assert first.state == "SUCCEEDED", first.message
    digest_ms, per_step = [], []
    for _ in range(rounds):
        before = time.perf_counter()
        pipe.to_proto()
        digest_ms.append((time.perf_counter() - before) * 1000)
        before = time.perf_counter()
        run = run_pipeline(pipe, client=client).wait(timeout=30)
        elapsed = (time.perf_counter() - before) * 1000
        assert run.state == "SUCCEEDED" and all(s.cached for s in run.steps), run.steps
        per_step.append(elapsed / steps)
    print(f"  the client's code digest: p50 {percentile(digest_ms, 0.5):.2f} ms a pipeline")
    return per_step


def throughput(
    client: JobsClient, count: int, submitters: int = 4, name: str = "bench-tput"
) -> float:
    """Jobs/s from the first submit to the last job's finish (the scheduler's clock,
    on this machine). The wait asks only whether any job is left, so polling
    adds little load to what is measured."""
    start_ms = time.time() * 1000
    with ThreadPoolExecutor(submitters) as pool:
        jobs = list(
            pool.map(lambda _: client.submit_job(["true"], cpus=0.1, name=name), range(count))
        )
    submitted = time.time() * 1000 - start_ms
    while client.list_jobs(name=name, states=UNFINISHED, limit=1):
        time.sleep(0.05)
    done = client.list_jobs(name=name, limit=count + 1)
    assert {j.id for j in done} == {j.id for j in jobs}, f"{name} jobs from another run"
    failed = [j.id for j in done if j.state != "SUCCEEDED"]
    assert not failed, f"{len(failed)} jobs did not succeed, e.g. {failed[0]}"
    elapsed = (max(j._proto.finished_ms for j in done) - start_ms) / 1000
    print(
        f"  submitted {count} in {submitted / 1000:.2f} s ({count * 1000 / submitted:.0f}/s);"
        f" the last finished after {elapsed:.2f} s"
    )
    return count / elapsed


RAY_SCRIPT = """
import sys, time
from ray.job_submission import JobSubmissionClient, JobStatus
client = JobSubmissionClient("http://127.0.0.1:8265")
def run(entry):
    before = time.time_ns()
    job = client.submit_job(entrypoint=entry)
    final = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED)
    while client.get_job_status(job) not in final:
        time.sleep(0.01)
    return before, job
lat = []
for i in range(int(sys.argv[1])):
    before, job = run("date +%s%N")
    stamps = [ln for ln in client.get_job_logs(job).splitlines() if ln.strip().isdigit()]
    lat.append((int(stamps[-1]) - before) / 1e6)
lat.sort()
p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
print(f"ray submit -> process started: p50 {lat[len(lat) // 2]:.1f} ms, p99 {p99:.1f} ms")
n = int(sys.argv[2])
start = time.monotonic()
for i in range(n):
    run("true")
print(f"ray trivial jobs back to back: {n / (time.monotonic() - start):.2f} jobs/s ({n} jobs)")
"""


def ray_side_by_side(venv: Path, latency_jobs: int, jobs: int) -> None:
    ray = str(venv / "bin" / "ray")
    subprocess.run(
        [ray, "start", "--head", "--num-cpus", "2", "--include-dashboard", "true"], check=True
    )
    try:
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", RAY_SCRIPT, str(latency_jobs), str(jobs)],
            check=True,
        )
    finally:
        subprocess.run([ray, "stop", "--force"], check=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-jobs", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--submitters", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache-rounds", type=int, default=20)
    parser.add_argument("--cache-only", action="store_true")
    parser.add_argument("--ray-venv", type=Path, default=None)
    parser.add_argument("--ray-jobs", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="sy-bench-sched-"))
    platform = Platform(home, progress=lambda m: print(f"… {m}"))
    platform.start()
    log = home / "logs" / "worker2.log"
    with log.open("w") as out:
        second = subprocess.Popen(
            [sys.executable, "-m", "switchyard.cli.main", "worker", "--pool", "default"],
            env={**os.environ, "SWITCHYARD_HOME": str(home)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        while "worker ready" not in log.read_text():
            time.sleep(0.05)
        with JobsClient(settings=Settings(home=home)) as client:
            hits = cache_hits(client, args.cache_rounds)
            print(
                f"cache hit, unchanged 10-step pipeline: median {percentile(hits, 0.5):.1f} ms"
                f" a step (p90 {percentile(hits, 0.9):.1f} ms; {len(hits)} runs)"
            )
            if args.cache_only:
                return
            latency(client, 5)  # warm up
            parts: dict[str, list[float]] = {
                k: [] for k in ("submit rpc", "to StartJob", "StartJob to exec")
            }
            lat = latency(client, args.latency_jobs, parts)
            for name, values in parts.items():
                print(f"  {name}: p50 {percentile(values, 0.5):.1f} ms")
            print(
                f"submit -> process started: p50 {percentile(lat, 0.5):.1f} ms,"
                f" p99 {percentile(lat, 0.99):.1f} ms (n={len(lat)})"
            )
            rates = [
                throughput(client, args.jobs, args.submitters, name=f"bench-tput-{i}")
                for i in range(args.rounds)
            ]
            print(
                f"sustained trivial jobs: median {percentile(rates, 0.5):.0f} jobs/s"
                f" ({', '.join(f'{r:.0f}' for r in rates)}; {args.jobs} jobs a round,"
                f" {args.submitters} submitting threads, 2 workers)"
            )
    finally:
        second.terminate()
        second.wait(15)
        platform.stop()
    if args.ray_venv is not None:  # after ours, so the two do not share the CPUs
        ray_side_by_side(args.ray_venv, args.ray_jobs, args.ray_jobs)


if __name__ == "__main__":
    main()
