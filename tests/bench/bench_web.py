"""Web edge benchmarks against a real `switchyard up`.

    python tests/bench/bench_web.py [--quick]

Prints the median latency of a kept-alive request (`GET /health` over one
`requests.Session`). A Nagle/delayed-ACK stall adds ~40 ms to every
kept-alive response, even the smallest; unstalled, it is a few ms even on a
busy machine. (This was a test until timing assertions left the suite.)
"""

from __future__ import annotations

import argparse
import signal
import statistics
import tempfile
import time
from pathlib import Path

import requests
from bench_tracking import report, start_platform

from switchyard.sdk.endpoints import Endpoints


def bench_keepalive(url: str, n: int) -> None:
    with requests.Session() as session:
        assert session.get(f"{url}/health").status_code == 200  # the connection, kept
        samples = []
        for _ in range(n):
            began = time.perf_counter()
            assert session.get(f"{url}/health").status_code == 200
            samples.append(time.perf_counter() - began)
    report(
        "web edge, kept-alive GET /health (ms)",
        f"{statistics.median(samples) * 1000:.1f}",
        "target < 25 ms; a Nagle stall adds ~40 ms",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    args = parser.parse_args()
    print(f"{'figure':<58} {'median':>22}   anchor")
    home = Path(tempfile.mkdtemp(prefix="sy-bench-web-"))
    proc, _ = start_platform(home)
    try:
        url = Endpoints.read(home / "endpoints.json").http["web"]
        bench_keepalive(url, 30 if args.quick else 300)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


if __name__ == "__main__":
    main()
