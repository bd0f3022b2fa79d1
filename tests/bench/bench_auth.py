"""What authentication costs per call: the same calls with it on and off, in one run.

    python tests/bench/bench_auth.py [--rounds 2] [--calls 1000]

Platforms as `switchyard up` runs them (tracking and registry, each its own
process), started with `--insecure` and without in turn on this machine, so
drift on a busy 2-core machine lands on both; each figure is the median over
every call of its kind, one thread calling in a loop through the sync SDK. A verified token is
cached for a second, so these are the cached path's figures (the path of
every call but one a second per token and service).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.dev.up import Platform

sys.path.insert(0, str(Path(__file__).parent))
from bench_registry import server_ms
from bench_tracking import report


def calls(client: sy.Client, run_id: str, model: str) -> dict[str, Callable[[], object]]:
    return {
        "get_run (tracking, read)": lambda: client.get_run(run_id),
        "set_tag (tracking, write)": lambda: client.set_tag(run_id, "k", "v"),
        "resolve name@alias (registry, read)": lambda: client.get_model_version_download_uri(
            model, alias="champion"
        ),
    }


def prepare(client: sy.Client) -> tuple[str, str]:
    exp = client.create_experiment(f"bench-auth-{time.time_ns()}")
    run_id = client.create_run(exp).info.run_id
    model = f"bench-auth-{time.time_ns()}"
    client.create_registered_model(model)
    version = client.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias(model, "champion", version.version)
    return run_id, model


def measure(insecure: bool, calls_each: int) -> dict[str, list[float]]:
    """Per call kind, the seconds of each call, on a platform of its own."""
    home = Path(tempfile.mkdtemp(prefix="sy-bench-auth-"))
    platform = Platform(home, services=("tracking", "registry"), insecure=insecure)
    try:
        endpoints = platform.start()
        with sy.Client(settings=Settings(home=home)) as client:
            times: dict[str, list[float]] = {}
            for name, call in calls(client, *prepare(client)).items():
                for _ in range(50):  # warm
                    call()
                got = times.setdefault(name, [])
                for _ in range(calls_each):
                    began = time.perf_counter()
                    call()
                    got.append(time.perf_counter() - began)
            probes = endpoints.http["tracking"]
            for method in ("GetRun", "SetTag"):  # the handler's own time, mean
                times[f"  {method} in tracking's handler"] = [server_ms(probes, method) / 1000]
            return times
    finally:
        platform.stop()


def interceptor_us(n: int = 100_000) -> float:
    """The check alone, per call (µs): a cached token through `AuthInterceptor`,
    as the server runs it before each handler."""
    import asyncio
    from collections import namedtuple

    from switchyard.core.auth import ADMIN, AuthInterceptor, Principal, Verifier

    async def lookup(token: str) -> Principal:
        return Principal("0" * 16, "bench", "*", ADMIN)

    details_type = namedtuple("details_type", ["method", "invocation_metadata"])
    details = details_type(
        "/switchyard.v1.TrackingService/SetTag",
        (("sy-client", "switchyard-sdk/0"), ("authorization", "Bearer syt_x")),
    )
    interceptor = AuthInterceptor(Verifier(lookup))
    handler = object()

    async def continuation(_: object) -> object:
        return handler

    async def run() -> float:
        await interceptor.intercept_service(continuation, details)  # type: ignore[arg-type]
        began = time.perf_counter()
        for _ in range(n):
            await interceptor.intercept_service(continuation, details)  # type: ignore[arg-type]
        return (time.perf_counter() - began) / n * 1e6

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2, help="platforms of each kind, in turn")
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    # One platform at a time (they would share the default ports), off and on in
    # turn, so drift on a busy machine lands on both.
    times: dict[tuple[str, bool], list[float]] = {}
    for _ in range(args.rounds):
        for insecure in (False, True):
            for name, got in measure(insecure, args.calls).items():
                times.setdefault((name, insecure), []).extend(got)
    print(f"{'figure':<58} {'median':>22}   anchor")
    report("the check per call, a cached token (µs)", f"{interceptor_us():.1f}", "≤ 100 µs")
    for name in sorted({name for name, _ in times}):
        off = statistics.median(times[(name, True)]) * 1000
        on = statistics.median(times[(name, False)]) * 1000
        report(f"{name}: off | on (ms)", f"{off:.3f} | {on:.3f}", f"+{on - off:.3f} ms")


if __name__ == "__main__":
    main()
