"""Inference gateway benchmarks against a real `switchyard up`, beside its peers.

    python tests/bench/bench_gateway.py [--quick] [--peers mlserver,ray,baseline]
                                        [--duration S] [--peer-scripts DIR]

One seeded scikit-learn LinearRegression (y = X·[1, -2, 0.5, 3] + 0.25, the
model of ../shared/bench/serving_load.py), deployed with one replica on the
platform's local worker. Prints, each beside its anchor: OIP REST req/s and
latency at 1 and 16 keep-alive clients through the gateway and straight to
the replica (the gateway's added latency is the difference of the p50s at one
client); OIP gRPC req/s at 16 clients; the CPU each process spends per
request; scale from zero to the first correct answer (scikit-learn and
python_function models). With --peers, the same load generator runs against
MLServer, Ray Serve and a bare ASGI endpoint first (serving_peers.sh, before
the platform starts, so each has the machine to itself) and the table gives
the gateway's ratio to each.

The load generator is serving_load.py's `load --mode oip` when the peer
scripts and a Python with aiohttp are at hand (the one the peers were
measured with), else a raw asyncio keep-alive client here. Every answer's
value is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.sdk import fluent
from switchyard.sdk.endpoints import Endpoints

sys.path.insert(0, str(Path(__file__).parent))
from bench_tracking import start_platform
from gateway_load import COEF, INTERCEPT, ROWS, CpuShare, Load, LoadGenerator, _grpc_load

REPO = Path(__file__).resolve().parents[2]
BATCHED = "linear-batched"
MODEL = "linreg"
RESULTS: list[tuple[str, str, str]] = []


def report(name: str, value: str, anchor: str = "") -> None:
    RESULTS.append((name, value, anchor))
    print(f"{name:<52} {value:>18}   {anchor}", flush=True)


def make_model() -> object:
    """serving_load.py's make_model, built here so a fresh clone needs no ../shared."""
    from sklearn.linear_model import LinearRegression

    x = np.random.default_rng(0).normal(size=(200, 4))
    return LinearRegression().fit(x, x @ COEF + INTERCEPT)


def doubled_sum(x: object) -> object:
    """The python_function model of the scale-from-zero figure."""
    return np.asarray(x, dtype=np.float64).sum(axis=1) * 2.0


PEER_LABELS = {"baseline": "baseline", "mlserver": "mlserver", "ray": "ray1"}


def run_peers(peers: list[str], scripts: Path, duration: float) -> dict[str, dict[str, float]]:
    """serving_peers.sh for the named peers: {peer: {"c1", "c16", "p50_c1", "cold"}}."""
    script = scripts / "serving_peers.sh"
    if not script.exists():
        print(f"# no {script}: peers skipped", file=sys.stderr)
        return {}
    labels = [PEER_LABELS[p] for p in peers]
    out = Path(tempfile.mkdtemp(prefix="sy-bench-peers-"))
    env = {
        **os.environ,
        "ONLY": " ".join(labels),
        "DURATION": str(duration),
        "CONCURRENCY": "1 16",
        "OUT": str(out),
        "QUIET_WAIT_S": os.environ.get("QUIET_WAIT_S", "60"),
    }
    print(f"# peers: {' '.join(labels)} via {script} (log in {out})", file=sys.stderr, flush=True)
    with (out / "peers.log").open("wb") as logf:
        subprocess.run(["bash", str(script)], env=env, stdout=logf, stderr=logf, check=False)
    found: dict[str, dict[str, float]] = {}
    results = out / "results.jsonl"
    lines = results.read_text().splitlines() if results.exists() else []
    for line in lines:
        item = json.loads(line)
        cold = item.get("cold_start")
        label = (cold or item).get("label")
        peer = next((p for p, lab in PEER_LABELS.items() if lab == label), None)
        if peer is None:
            continue
        figures = found.setdefault(peer, {})
        if cold:
            figures["cold"] = cold["cold_start_s"]
        elif "rps" in item and item.get("errors", 1) == 0:
            figures[f"c{item['concurrency']}"] = item["rps"]
            if item["concurrency"] == 1:
                figures["p50_c1"] = item["p50_ms"]
    return found


# --------------------------------------------------------------------------- the platform
def deploy_models(settings: Settings) -> None:
    fluent.reset(settings)
    x = ROWS[:2]
    with sy.start_run():
        sy.log_model(make_model(), "linear", registered_model_name="bench-linear")
        sy.log_model(
            doubled_sum, "doubled", registered_model_name="bench-doubled", flavor="python_function"
        )
    sy.deploy("models:/bench-linear/1", MODEL, min_replicas=1, settings=settings).wait_ready(120)
    # The same model with dynamic batching: concurrent rows share one predict call.
    sy.deploy(
        "models:/bench-linear/1",
        BATCHED,
        min_replicas=1,
        max_batch_size=16,
        max_batch_delay_ms=1,
        settings=settings,
    ).wait_ready(120)
    scaling = {"scale_to_zero_grace_s": 2, "stable_window_s": 4, "panic_window_s": 1}
    for model, name in (("bench-linear", "cold-linear"), ("bench-doubled", "cold-pyfunc")):
        sy.deploy(
            f"models:/{model}/1", name, min_replicas=0, autoscaling=scaling, settings=settings
        ).wait_ready(60)
    np.testing.assert_allclose(sy.predict(MODEL, x, settings=settings), x @ COEF + INTERCEPT)


def wait_idle(name: str, settings: Settings, within_s: float = 90) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        deployment = sy.get_deployment(name, settings=settings)
        if deployment.state == "IDLE" and not deployment.replica_list:
            return
        time.sleep(0.25)
    raise SystemExit(f"{name} did not scale to zero within {within_s:g} s")


def bench_cold(settings: Settings, rounds: int) -> dict[str, float]:
    wants = {
        "cold-linear": lambda x: x @ COEF + INTERCEPT,
        "cold-pyfunc": lambda x: x.sum(axis=1) * 2.0,
    }
    found = {}
    for name, want in wants.items():
        times: list[float] = []
        phases: list[tuple[float, float, float]] = []
        for r in range(rounds):
            wait_idle(name, settings)
            x = ROWS[r : r + 1]
            sent_ms = time.time() * 1000
            began = time.perf_counter()
            got = sy.predict(name, x, settings=settings)
            times.append(time.perf_counter() - began)
            answered_ms = time.time() * 1000
            np.testing.assert_allclose(got, want(x))
            (replica,) = sy.get_deployment(name, settings=settings).replica_list
            phases.append(
                (
                    replica.created_ms - sent_ms,
                    replica.ready_ms - replica.created_ms,
                    answered_ms - replica.ready_ms,
                )
            )
        found[name] = statistics.median(times)
        print(f"# {name}: {', '.join(f'{t:.2f}' for t in times)} s", file=sys.stderr)
        for i, label in enumerate(
            ("request → replica job", "job → replica ready", "ready → answer")
        ):
            found[f"{name} {label}"] = statistics.median(p[i] for p in phases) / 1000
    return found


def replica_address(settings: Settings) -> tuple[str, str]:
    (replica,) = sy.get_deployment(MODEL, settings=settings).replica_list
    http = replica.http_address
    return (http if "://" in http else f"http://{http}"), replica.grpc_address


def measured(
    platform: subprocess.Popen[bytes], run: object, *args: object
) -> tuple[Load, dict[str, float]]:
    cpu = CpuShare.of(platform)
    cpu.start()
    load = run(*args)  # type: ignore[operator]
    cpu.stop()
    if load.errors or load.wrong or not load.ok:
        raise SystemExit(f"load failed: {load}")
    return load, cpu.per_request_us(load.total)


def cpu_text(us: dict[str, float]) -> str:
    return " ".join(f"{k} {us[k]:.0f}" for k in ("gateway", "replica", "client", "other"))


def ratio(ours: float, peer: dict[str, float], key: str, name: str) -> str:
    if key not in peer:
        return f"{name} —"
    return f"{name} {peer[key]:,.0f} (x{ours / peer[key]:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 s per load, one cold start")
    parser.add_argument("--peers", default="", help="comma list of mlserver, ray, baseline")
    parser.add_argument("--duration", type=float, default=None, help="seconds per load (10)")
    parser.add_argument("--peer-scripts", type=Path, default=REPO.parent / "shared" / "bench")
    args = parser.parse_args()
    duration = args.duration or (3.0 if args.quick else 10.0)
    peers = [p for p in args.peers.split(",") if p]
    for p in peers:
        if p not in PEER_LABELS:
            parser.error(f"unknown peer {p!r}; known: {', '.join(PEER_LABELS)}")
    peer_figures = run_peers(peers, args.peer_scripts, duration) if peers else {}

    loads = LoadGenerator(args.peer_scripts, duration, warmup=1.0 if args.quick else 3.0)
    print(f"# load generator: {loads.name}", file=sys.stderr)
    home = Path(tempfile.mkdtemp(prefix="sy-bench-gw-"))
    platform, _ = start_platform(home)
    try:
        settings = Settings(home=home)
        deploy_models(settings)
        gateway = sy.get_deployment(MODEL, settings=settings).url
        assert gateway is not None
        gateway = gateway.split("/v2/")[0]
        replica_http, replica_grpc = replica_address(settings)
        grpc_gateway = Endpoints.read(home / "endpoints.json").grpc["inference"]
        print(f"{'figure':<52} {'value':>18}   anchor")

        gw1, _ = measured(platform, loads.run, gateway, MODEL, 1)
        direct1, _ = measured(platform, loads.run, replica_http, MODEL, 1)
        report("REST c=1 through the gateway (req/s, p50 ms)", f"{gw1.rps:,.0f}, {gw1.p50_ms:.2f}")
        report(
            "REST c=1 straight to the replica (req/s, p50 ms)",
            f"{direct1.rps:,.0f}, {direct1.p50_ms:.2f}",
            _peer_p50(peer_figures),
        )
        report(
            "gateway's added latency, p50 at c=1 (ms)",
            f"{gw1.p50_ms - direct1.p50_ms:.2f}",
            "target ≤ 1 ms",
        )
        gw16, gw16_cpu = measured(platform, loads.run, gateway, MODEL, 16)
        direct16, direct16_cpu = measured(platform, loads.run, replica_http, MODEL, 16)
        anchors = ["target ≥ 3,000"] + [
            ratio(gw16.rps, peer_figures[p], "c16", p) for p in peers if p in peer_figures
        ]
        report("REST c=16 through the gateway (req/s)", f"{gw16.rps:,.0f}", "; ".join(anchors))
        report("  p50 / p99 (ms)", f"{gw16.p50_ms:.2f} / {gw16.p99_ms:.2f}")
        batched, batched_cpu = measured(platform, loads.run, gateway, BATCHED, 16)
        # Its replica holds a CPU of the local worker, which the cold starts need.
        sy.get_deployment(BATCHED, settings=settings).delete()
        report(
            "REST c=16 through the gateway, dynamic batching ≤ 16 rows / 1 ms (req/s)",
            f"{batched.rps:,.0f}",
            f"target ≥ 3,000; p50 {batched.p50_ms:.2f} ms; CPU µs/request {cpu_text(batched_cpu)}",
        )
        report(
            "REST c=16 straight to the replica (req/s)",
            f"{direct16.rps:,.0f}",
            f"gateway/replica x{gw16.rps / direct16.rps:.2f}",
        )
        grpc16, grpc16_cpu = measured(
            platform,
            lambda: asyncio.run(_grpc_load(grpc_gateway, MODEL, 16, duration, loads.warmup)),
        )
        grpc_direct, grpc_direct_cpu = measured(
            platform,
            lambda: asyncio.run(_grpc_load(replica_grpc, MODEL, 16, duration, loads.warmup)),
        )
        report(
            "gRPC c=16 through the gateway (req/s)",
            f"{grpc16.rps:,.0f}",
            f"target > REST ({gw16.rps:,.0f}); p50 {grpc16.p50_ms:.2f} ms",
        )
        report("gRPC c=16 straight to the replica (req/s)", f"{grpc_direct.rps:,.0f}")
        for label, us in (
            ("CPU µs/request, REST c=16 via gateway", gw16_cpu),
            ("CPU µs/request, REST c=16 to the replica", direct16_cpu),
            ("CPU µs/request, gRPC c=16 via gateway", grpc16_cpu),
            ("CPU µs/request, gRPC c=16 to the replica", grpc_direct_cpu),
        ):
            report(label, f"{sum(us.values()):,.0f}", cpu_text(us))

        cold = bench_cold(settings, 1 if args.quick else 3)
        cold_peers = "; ".join(
            f"{p} {peer_figures[p]['cold']:.2f} s (process start)"
            for p in peers
            if "cold" in peer_figures.get(p, {})
        )
        report(
            "scale from zero → first correct answer, sklearn (s)",
            f"{cold['cold-linear']:.2f}",
            "target ≤ 1.5 s" + (f"; {cold_peers}" if cold_peers else ""),
        )
        report(
            "scale from zero → first correct answer, pyfunc (s)",
            f"{cold['cold-pyfunc']:.2f}",
            "target ≤ 1.5 s",
        )
        for name in ("cold-linear", "cold-pyfunc"):
            steps = ("request → replica job", "job → replica ready", "ready → answer")
            report(
                f"  {name}: request→job / job→ready / ready→answer",
                " / ".join(f"{cold[f'{name} {step}']:.2f}" for step in steps),
                "s, medians; the replica's created_ms and ready_ms",
            )
        for p in peers:
            figures = peer_figures.get(p)
            if not figures:
                report(f"peer {p}", "not measured", "see the peers' log")
                continue
            report(
                f"peer {p}: REST c=1 / c=16 (req/s)",
                f"{figures.get('c1', 0):,.0f} / {figures.get('c16', 0):,.0f}",
                f"gateway x{gw16.rps / figures['c16']:.2f} at c=16" if "c16" in figures else "",
            )
    finally:
        fluent.reset()
        platform.send_signal(signal.SIGTERM)
        platform.wait(60)
        shutil.rmtree(home, ignore_errors=True)


def _peer_p50(peer_figures: dict[str, dict[str, float]]) -> str:
    return "; ".join(
        f"{p} p50 {f['p50_c1']:.2f} ms" for p, f in peer_figures.items() if "p50_c1" in f
    )


if __name__ == "__main__":
    main()
