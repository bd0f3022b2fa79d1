"""Tracking benchmarks against a real `switchyard up`, each beside its anchor.

    python tests/bench/bench_tracking.py [--quick]

Prints medians for: `switchyard up` to healthy and idle RSS; SDK metric
ingest (fluent `sy.log_metric` and columnar `stream_metrics`) beside the raw
asyncpg COPY rate into the same PostgreSQL; run search with a metrics +
params + tags filter over 100,000 runs; a 100,000-point history downsampled
to 1,000; the SDK's RSS while logging 10 million metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import psutil

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.sdk import fluent
from switchyard.sdk.endpoints import Endpoints

RESULTS: list[tuple[str, str, str]] = []


def report(name: str, value: str, anchor: str = "") -> None:
    RESULTS.append((name, value, anchor))
    print(f"{name:<58} {value:>22}   {anchor}", flush=True)


def start_platform(home: Path) -> tuple[subprocess.Popen[bytes], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env["SWITCHYARD_HOME"] = str(home)
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchyard.cli.main", "up"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not (home / "endpoints.json").exists():
        if proc.poll() is not None:
            raise SystemExit("switchyard up failed")
        time.sleep(0.02)
    return proc, time.perf_counter() - began


def tree_rss_mb(pid: int) -> float:
    root = psutil.Process(pid)
    procs = [root, *root.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs) / 2**20


def bench_startup(quick: bool) -> None:
    times = []
    for _ in range(1 if quick else 3):
        home = Path(tempfile.mkdtemp(prefix="sy-bench-up-"))
        proc, first = start_platform(home)  # first up: initdb included
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        proc, again = start_platform(home)
        time.sleep(3)  # settle, then measure idle memory
        rss = tree_rss_mb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        times.append((first, again, rss))
    report(
        "switchyard up → healthy, first run (s)",
        f"{statistics.median(t[0] for t in times):.2f}",
        "target ≤ 10 s; mlflow server ~8 s",
    )
    report(
        "switchyard up → healthy, data exists (s)", f"{statistics.median(t[1] for t in times):.2f}"
    )
    report(
        "idle platform RSS, all processes (MB)",
        f"{statistics.median(t[2] for t in times):.0f}",
        "target ≤ 800 MB; mlflow server 2.6 GB, ray 1.6 GB",
    )


def bench_ingest(settings: Settings, n: int) -> None:
    fluent.reset(settings)
    fluent.set_experiment(f"bench-{uuid.uuid4().hex[:6]}")
    rates = []
    for _ in range(3):
        with fluent.start_run():
            began = time.perf_counter()
            log = sy.log_metric
            for i in range(n):
                log("loss", 1.0 / (i + 1), step=i)
            fluent.flush()
            rates.append(n / (time.perf_counter() - began))
    fluent.reset()
    report(
        "SDK ingest, fluent sy.log_metric (metrics/s)",
        f"{statistics.median(rates):,.0f}",
        "target ≥ 250,000; mlflow log_batch ~4,000",
    )

    async def columnar() -> float:
        async with sy.AsyncClient(settings=settings) as client:
            exp = await client.create_experiment(f"bench-col-{uuid.uuid4().hex[:6]}")
            run_id = (await client.create_run(exp)).info.run_id
            chunk = 20_000
            values = [float(i) for i in range(chunk)]
            now = int(time.time() * 1000)

            async def batches():  # type: ignore[no-untyped-def]
                for c in range(n // chunk):
                    steps = list(range(c * chunk, (c + 1) * chunk))
                    yield pb.StreamMetricsRequest(
                        run_id=run_id,
                        series=[
                            pb.MetricSeries(
                                key="x", values=values, steps=steps, timestamps=[now] * chunk
                            )
                        ],
                    )

            began = time.perf_counter()
            written = await client.stream_metrics(batches())
            return written / (time.perf_counter() - began)

    col = statistics.median(asyncio.run(columnar()) for _ in range(3))
    report("SDK ingest, AsyncClient.stream_metrics (metrics/s)", f"{col:,.0f}")
    return None


def bench_copy(database: str, n: int) -> float:
    async def run() -> float:
        conn = await asyncpg.connect(database)
        try:
            await conn.execute(
                "CREATE TEMP TABLE raw_metrics (run_id uuid, key text, step bigint,"
                " timestamp_ms bigint, value double precision)"
            )
            rid = uuid.uuid4()
            now = int(time.time() * 1000)
            rows = [(rid, "loss", i, now, 1.0 / (i + 1)) for i in range(n)]
            rates = []
            for _ in range(3):
                began = time.perf_counter()
                await conn.copy_records_to_table("raw_metrics", records=rows)
                rates.append(n / (time.perf_counter() - began))
            return statistics.median(rates)
        finally:
            await conn.close()

    rate = asyncio.run(run())
    report("raw asyncpg COPY, row per metric (rows/s)", f"{rate:,.0f}", "the physical limit")
    return rate


async def seed_runs(database: str, experiment_id: str, n: int, schema: str = "tracking") -> None:
    """100,000 realistic runs written straight into the tracking schema (fast setup)."""
    conn = await asyncpg.connect(database, server_settings={"search_path": schema})
    try:
        eid = int(experiment_id)
        await conn.execute(
            """
            INSERT INTO runs (run_id, experiment_id, name, status, start_time, artifact_uri)
            SELECT md5(random()::text || g)::uuid, $1, 'run-' || g, 'FINISHED',
                   1700000000000 + g, 'file:///tmp/x'
            FROM generate_series(1, $2) g
            """,
            eid,
            n,
        )
        ids = "SELECT run_id, row_number() OVER () AS g FROM runs WHERE experiment_id = $1"
        await conn.execute(
            f"""
            INSERT INTO params SELECT r.run_id, k,
                   CASE k WHEN 'lr' THEN (ARRAY['0.1','0.01','0.001'])[1 + r.g % 3]
                   ELSE 'v' || (r.g % 17) END
            FROM ({ids}) r, unnest(ARRAY['lr','depth','optimizer','batch','seed']) k""",
            eid,
        )
        await conn.execute(
            f"""
            INSERT INTO tags SELECT r.run_id, k,
                   CASE k WHEN 'team' THEN (ARRAY['alpha','beta','gamma'])[1 + r.g % 3]
                   ELSE 'x' || (r.g % 11) END
            FROM ({ids}) r, unnest(ARRAY['team','owner','stage','git','host']) k""",
            eid,
        )
        await conn.execute(
            f"""
            INSERT INTO latest_metrics SELECT r.run_id, k, random(), 100, 1700000000000
            FROM ({ids}) r, unnest(ARRAY['acc','loss','f1','auc','val_loss']) k""",
            eid,
        )
        # What autovacuum would do to these fresh rows, now rather than mid-measurement.
        await conn.execute("VACUUM ANALYZE runs, params, tags, latest_metrics")
        await _settle(conn)
    finally:
        await conn.close()


async def _settle(conn: asyncpg.Connection, within_s: float = 120) -> None:
    """Wait for autovacuum to finish with what the ingest benchmarks wrote.

    On two cores a vacuum of millions of fresh metric rows running beside the
    search doubles its latency; a server at steady state has no such worker.
    """
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        busy = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
        )
        if not busy:
            return
        await asyncio.sleep(0.5)


def bench_search(settings: Settings, database: str, n: int) -> None:
    with sy.Client(settings=settings) as client:
        exp = client.create_experiment(f"bench-search-{uuid.uuid4().hex[:6]}")
        asyncio.run(seed_runs(database, exp, n))
        query = "metrics.acc > 0.5 and params.lr = '0.1' and tags.team LIKE 'a%'"
        # Steady state: autovacuum's analyze of the fresh rows has settled.
        for _ in range(30):
            client.search_runs([exp], query, max_results=100)
        times = []
        for _ in range(30):
            began = time.perf_counter()
            page = client.search_runs([exp], query, max_results=100)
            times.append(time.perf_counter() - began)
        assert len(page) == 100
        ordered = []
        for _ in range(15):
            began = time.perf_counter()
            client.search_runs([exp], query, max_results=100, order_by=["metrics.acc DESC"])
            ordered.append(time.perf_counter() - began)
    report(
        f"search_runs metrics+params+tags over {n:,} runs, page 100 (ms)",
        f"p50 {statistics.median(times) * 1000:.1f}",
        "target ≤ 20 ms",
    )
    report("  same, order_by metrics.acc DESC (ms)", f"p50 {statistics.median(ordered) * 1000:.1f}")


def bench_history(settings: Settings) -> None:
    with sy.Client(settings=settings) as client:
        run_id = client.create_run(
            client.create_experiment(f"bench-h-{uuid.uuid4().hex[:6]}")
        ).info.run_id
        for i in range(100_000):
            client.log_metric(run_id, "loss", 1 / (i + 1), step=i, synchronous=False)
        client.flush()
        times, full = [], []
        for _ in range(20):
            began = time.perf_counter()
            points = client.get_metric_history(run_id, "loss", max_points=1000)
            times.append(time.perf_counter() - began)
        for _ in range(5):
            began = time.perf_counter()
            client.get_metric_history(run_id, "loss")
            full.append(time.perf_counter() - began)
    assert len(points) <= 1000
    report(
        "history 100,000 points → 1,000 for a chart (ms)",
        f"p50 {statistics.median(times) * 1000:.1f}",
        "target ≤ 50 ms",
    )
    report(
        "history 100,000 points, all (ms)",
        f"p50 {statistics.median(full) * 1000:.1f}",
        "mlflow ~4,400 ms",
    )


_MEMORY_PROBE = """
import sys, threading, time, psutil, switchyard as sy
from switchyard.core.config import Settings
from switchyard.sdk import fluent
fluent.reset(Settings(home=sys.argv[1]))
peak = [0]
def watch():
    p = psutil.Process()
    while True:
        peak[0] = max(peak[0], p.memory_info().rss); time.sleep(0.05)
threading.Thread(target=watch, daemon=True).start()
n = int(sys.argv[2])
with sy.start_run():
    began = time.perf_counter()
    for i in range(n):
        sy.log_metric("m", i * 0.5, step=i)
    sy.flush()
    took = time.perf_counter() - began
print(peak[0] / 2**20, n / took)
"""


def bench_memory(home: Path, n: int) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(home), str(n)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    report(
        f"SDK peak RSS logging {n:,} metrics in a tight loop (MB)",
        f"{float(out[0]):.0f}",
        f"target < 300 MB ({float(out[1]):,.0f} metrics/s)",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one round")
    args = parser.parse_args()
    print(f"{'figure':<58} {'median':>22}   anchor")
    bench_startup(args.quick)
    home = Path(tempfile.mkdtemp(prefix="sy-bench-"))
    proc, _ = start_platform(home)
    try:
        endpoints = Endpoints.read(home / "endpoints.json")
        settings = Settings(home=home)
        bench_ingest(settings, 200_000 if args.quick else 2_000_000)
        bench_copy(endpoints.database or "", 200_000 if args.quick else 2_000_000)
        bench_search(settings, endpoints.database or "", 10_000 if args.quick else 100_000)
        bench_history(settings)
        bench_memory(home, 1_000_000 if args.quick else 10_000_000)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


if __name__ == "__main__":
    main()
