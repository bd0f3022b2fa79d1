"""The SDK's per-call path against a real `switchyard up`, each figure beside its floor.

    python tests/bench/bench_per_call.py [--runs 1000] [--calls 2000]

Prints: fluent runs/s (start_run, log_params of 5, log_metrics of 10, end)
one-call-per-write (`synchronous=True`, today's default) and pipelined
(`synchronous=False`), from one thread; the p50 of single SDK calls (sync
client) beside a gRPC health round trip and one PostgreSQL transaction of
two inserts into the same database (the floor of a write).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
import grpc
from bench_tracking import start_platform
from grpc_health.v1 import health_pb2, health_pb2_grpc

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.sdk import fluent
from switchyard.sdk.endpoints import Endpoints


def row(name: str, value: str, anchor: str = "") -> None:
    print(f"{name:<52} {value:>14}   {anchor}", flush=True)


def fluent_runs(settings: Settings, runs: int, synchronous: bool) -> float:
    fluent.reset(settings)
    sy.set_experiment(f"bench-fluent-{uuid.uuid4().hex[:6]}")
    params = {f"p{i}": i for i in range(5)}
    metrics = {f"m{i}": i * 0.5 for i in range(10)}
    began = time.perf_counter()
    for _ in range(runs):
        with sy.start_run(synchronous=synchronous):
            sy.log_params(params)
            sy.log_metrics(metrics, step=1)
    sy.flush()  # acknowledged: every run stored
    took = time.perf_counter() - began
    fluent.reset()
    return runs / took


def p50_ms(fn: Callable[[], object], n: int) -> float:
    for _ in range(min(200, n)):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def pg_floor_ms(database: str, n: int) -> float:
    async def measure() -> float:
        conn = await asyncpg.connect(database)
        try:
            await conn.execute("CREATE TEMP TABLE a (k text, v text); CREATE TEMP TABLE b (k text)")
            times = []
            for i in range(n + 200):
                t = time.perf_counter()
                async with conn.transaction():
                    await conn.execute("INSERT INTO a VALUES ($1, $2)", str(i), "v")
                    await conn.execute("INSERT INTO b VALUES ($1)", str(i))
                times.append(time.perf_counter() - t)
            return statistics.median(times[200:]) * 1000
        finally:
            await conn.close()

    return asyncio.run(measure())


def single_calls(settings: Settings, endpoints: Endpoints, n: int) -> None:
    address = endpoints.address("tracking")
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        ask = health_pb2.HealthCheckRequest()
        row("gRPC health round trip (floor)", f"{p50_ms(lambda: health.Check(ask), n):.2f}")
    row(
        "PostgreSQL transaction, two inserts (floor)",
        f"{pg_floor_ms(endpoints.database or '', n):.2f}",
    )
    with sy.Client(settings=settings) as client:
        exp = client.create_experiment(f"bench-calls-{uuid.uuid4().hex[:6]}")
        run_id = client.create_run(exp).info.run_id
        row("get_run p50 (ms)", f"{p50_ms(lambda: client.get_run(run_id), n):.2f}", "target ≤ 1.2")
        i = iter(range(10**9))
        row(
            "set_tag p50 (ms)",
            f"{p50_ms(lambda: client.set_tag(run_id, 't', next(i)), n):.2f}",
            "target ≤ 1.5",
        )
        row(
            "log_metric p50 (ms)",
            f"{p50_ms(lambda: client.log_metric(run_id, 'm', 1.0, step=next(i)), n):.2f}",
            "target ≤ 1.5",
        )
        row(
            "create_run p50 (ms)",
            f"{p50_ms(lambda: client.create_run(exp), n):.2f}",
            "target ≤ 1.5",
        )


def read_endpoints(path: Path) -> Endpoints:
    """endpoints.json once `up` has written it whole (it appears before it is full)."""
    for _ in range(500):
        try:
            return Endpoints.read(path)
        except ValueError:
            time.sleep(0.02)
    raise SystemExit(f"{path} was never complete")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000, help="fluent runs a round")
    parser.add_argument("--calls", type=int, default=2000, help="calls per p50")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="sy-bench-calls-"))
    proc, _ = start_platform(home)
    try:
        endpoints = read_endpoints(home / "endpoints.json")
        settings = Settings(home=home)
        print(f"{'figure':<52} {'median':>14}   anchor")
        for synchronous in (True, False):
            rates = [fluent_runs(settings, args.runs, synchronous) for _ in range(args.rounds)]
            mode = "synchronous=True" if synchronous else "synchronous=False (pipelined)"
            target = "" if synchronous else "target ≥ 500; synchronous ~78 before"
            row(f"fluent runs/s, {mode}", f"{statistics.median(rates):,.0f}", target)
        single_calls(settings, endpoints, args.calls)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


if __name__ == "__main__":
    main()
