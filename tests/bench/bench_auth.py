"""What authentication costs per call: the same calls with it on and off, in one run.

    python tests/bench/bench_auth.py [--rounds 5] [--calls 400]

Two platforms as `switchyard up` runs them (tracking and registry, each its
own process), one started with `--insecure`, side by side on this machine.
The calls alternate between them in rounds, so drift on a busy 2-core
machine lands on both; each figure is the median over every call of its
kind, one thread calling in a loop through the sync SDK. A verified token is
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    homes = {
        mode: Path(tempfile.mkdtemp(prefix=f"sy-bench-auth-{mode}-")) for mode in ("off", "on")
    }
    platforms = {
        mode: Platform(home, services=("tracking", "registry"), insecure=mode == "off")
        for mode, home in homes.items()
    }
    try:
        for platform in platforms.values():
            platform.start()
        clients = {mode: sy.Client(settings=Settings(home=home)) for mode, home in homes.items()}
        work = {mode: calls(c, *prepare(c)) for mode, c in clients.items()}
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for mode in ("off", "on"):
                for name, call in work[mode].items():
                    for _ in range(20):  # warm
                        call()
                    got = times.setdefault((name, mode), [])
                    for _ in range(args.calls):
                        began = time.perf_counter()
                        call()
                        got.append(time.perf_counter() - began)
        print(f"{'figure':<58} {'median':>22}   anchor")
        for name in work["on"]:
            off = statistics.median(times[(name, "off")]) * 1000
            on = statistics.median(times[(name, "on")]) * 1000
            report(f"{name}: off | on (ms)", f"{off:.3f} | {on:.3f}", f"+{on - off:.3f} ms")
        for client in clients.values():
            client.close()
    finally:
        for platform in platforms.values():
            platform.stop()


if __name__ == "__main__":
    main()
