"""Registry benchmarks against a real platform, as `switchyard up` runs it.

    python tests/bench/bench_registry.py [--models 10000] [--all-services]

The platform is `switchyard up`'s (`switchyard.dev.up.Platform`: NATS,
PostgreSQL, each service its own process) with only the tracking and
registry services, which is all these calls touch; `--all-services` starts
every service instead.

Prints medians (with p99, and the mean time in the registry's handler) for:
resolving `name@alias` to a download URI over gRPC (one call, as a deployer
does before fetching files), the same through `get_model_version_by_alias`,
and searching registered models with two tag filters over 10,000 models
(seeded straight into the registry schema with SQL, as bench_tracking.py
seeds runs), first page of 100. The load average is printed last: on a
2-core machine other processes move these figures a lot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import asyncpg

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.core.service_spec import services as all_services
from switchyard.dev.up import Platform

sys.path.insert(0, str(Path(__file__).parent))
from bench_tracking import report


async def seed_models(database: str, n: int, schema: str = "registry") -> None:
    """`n` models with five tags each (team, tier, owner, region, kind) and two versions."""
    conn = await asyncpg.connect(database, server_settings={"search_path": schema})
    try:
        await conn.execute(
            """
            INSERT INTO registered_models (name, description, creation_time, last_update_time,
                                           last_version)
            SELECT 'bench-' || lpad(g::text, 6, '0'), '', 1700000000000 + g, 1700000000000 + g, 2
            FROM generate_series(1, $1) g
            """,
            n,
        )
        ids = "SELECT model_id, row_number() OVER (ORDER BY model_id) AS g FROM registered_models"
        await conn.execute(
            f"""
            INSERT INTO model_tags SELECT m.model_id, k,
                   CASE k WHEN 'team' THEN (ARRAY['alpha','beta','gamma','delta'])[1 + m.g % 4]
                          WHEN 'tier' THEN (ARRAY['gold','silver','bronze'])[1 + m.g % 3]
                          ELSE k || '-' || (m.g % 13) END
            FROM ({ids}) m, unnest(ARRAY['team','tier','owner','region','kind']) k"""
        )
        await conn.execute(
            f"""
            INSERT INTO model_versions (model_id, version, creation_time, last_update_time,
                                        source, storage_location)
            SELECT m.model_id, v, 1700000000000, 1700000000000,
                   's3://models/' || m.g || '/' || v, 's3://models/' || m.g || '/' || v
            FROM ({ids}) m, generate_series(1, 2) v"""
        )
        await conn.execute(
            "INSERT INTO aliases SELECT model_id, 'champion', 2 FROM registered_models"
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def timed(call: Callable[[], object], rounds: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return times


def ms(times: list[float]) -> str:
    p99 = sorted(times)[int(len(times) * 0.99) - 1]
    return f"p50 {statistics.median(times) * 1000:.2f} (p99 {p99 * 1000:.1f})"


def server_ms(http: str, method: str) -> float:
    """Mean time the registry spent in `method` (its RPC histogram), in ms."""
    text = urllib.request.urlopen(f"{http}/metrics", timeout=5).read().decode()
    totals = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for part in totals:
            if line.startswith(f"switchyard_rpc_duration_seconds_{part}{{") and method in line:
                totals[part] += float(line.rsplit(" ", 1)[1])
    return 1000 * totals["sum"] / max(totals["count"], 1)


def bench(settings: Settings, database: str, n: int, http: str) -> None:
    asyncio.run(seed_models(database, n))
    name = f"bench-{n // 2:06d}"
    with sy.Client(settings=settings) as client:
        uri = client.get_model_version_download_uri(name, alias="champion")
        assert uri.endswith("/2"), uri
        resolve = timed(lambda: client.get_model_version_download_uri(name, alias="champion"), 1000)
        report("resolve name@alias to a download URI, gRPC (ms)", ms(resolve), "target ≤ 2 ms")
        served = server_ms(http, "GetModelVersionDownloadUri")
        report("  of which in the registry's handler, mean (ms)", f"{served:.2f}")
        by_alias = timed(lambda: client.get_model_version_by_alias(name, "champion"), 500)
        report("  get_model_version_by_alias, whole version (ms)", ms(by_alias))

        query = "tags.team = 'alpha' and tags.tier = 'gold'"
        page = client.search_registered_models(query, max_results=100)
        assert len(page) == 100 and page.token, len(page)
        search = timed(lambda: client.search_registered_models(query, max_results=100), 100)
        report(
            f"search_registered_models, 2 tag filters over {n:,} models, page 100 (ms)",
            ms(search),
            "target ≤ 20 ms; MLflow issue tracker ~850 ms for hundreds",
        )
        served = server_ms(http, "SearchRegisteredModels")
        report("  of which in the registry's handler, mean (ms)", f"{served:.2f}")
        token = page.token
        later = timed(
            lambda: client.search_registered_models(query, max_results=100, page_token=token),
            50,
        )
        report("  same, second page by keyset token (ms)", ms(later))
        prefix = timed(
            lambda: client.search_registered_models(
                "name LIKE 'bench-0001%' and tags.tier = 'gold'", max_results=100
            ),
            50,
        )
        report("  name LIKE prefix + 1 tag filter (ms)", ms(prefix))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--all-services", action="store_true")
    args = parser.parse_args()
    print(f"{'figure':<58} {'median':>22}   anchor")
    home = Path(tempfile.mkdtemp(prefix="sy-bench-registry-"))
    services = (
        tuple(s.name for s in all_services()) if args.all_services else ("tracking", "registry")
    )
    platform = Platform(home, services=services)
    began = time.perf_counter()
    try:
        endpoints = platform.start()
        report(f"platform up ({', '.join(services)}) (s)", f"{time.perf_counter() - began:.2f}")
        bench(
            Settings(home=home), endpoints.database or "", args.models, endpoints.http["registry"]
        )
        print(f"(load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
