"""Side by side: one `mlflow`-client workload against our web edge and a real MLflow server.

The MLflow server cannot share our venv (its server pins python-dateutil<3,
kubernetes needs >=3), so it runs from a venv of its own, made once:

    python3 -m venv /tmp/mlflow-server-venv
    /tmp/mlflow-server-venv/bin/pip install mlflow==3.17.2 psycopg2-binary gunicorn

Then, from the repository root:

    /work/venv/bin/python tests/bench/bench_mlflow_side_by_side.py [--quick] \
        [--mlflow-venv /tmp/mlflow-server-venv] [--floor PATH/mlflow_floor_server.py]

With `--floor`, the same workload also runs against that floor server (an
in-memory MLflow REST server answering at once, from the team's shared bench
scripts): its figures are the `mlflow` client's own cost, and the table adds
each server's share (its time per operation minus the floor's) and the ratio
of MLflow's share to Switchyard's.

It starts tracking, registry and web as `switchyard up` does (a process each,
embedded NATS and durable PostgreSQL, but on free ports), creates a database
of its own for MLflow in the same PostgreSQL, and runs the same workload
(the `mlflow` client from this venv) against: Switchyard's edge; `mlflow
server --workers 2` (uvicorn, MLflow's default); the same on gunicorn. The
anchor is the better of the two MLflow servers per figure. Figures: single
`log_metric` calls/s; `log_batch` metrics/s; fluent runs created + logged +
ended per second; `search_runs` latency over 10,000 runs; `get_metric_history`
of 1,000 and 100,000 points. Medians; the ratio is Switchyard / MLflow
(for latencies MLflow / Switchyard), so higher is better for Switchyard.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import mlflow
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from switchyard.dev.home import ensure_token
from switchyard.dev.nats import EmbeddedNats
from switchyard.dev.postgres import EmbeddedPostgres

warnings.filterwarnings("ignore")
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"

Figures = dict[str, float]
LOGS = Path(tempfile.gettempdir()) / "sy-bench-mlflow-logs"  # the MLflow servers' logs
# name, unit, higher is better
FIGURES = [
    ("log_metric calls/s", "calls/s", True),
    ("log_batch metrics/s", "metrics/s", True),
    ("runs created+logged+ended/s", "runs/s", True),
    ("search_runs over {n} runs", "ms", False),
    ("get_metric_history 1,000 points", "ms", False),
    ("get_metric_history {h} points", "ms", False),
]


def timed(fn: Callable[[], Any], repeats: int) -> float:
    """Median seconds of `repeats` calls (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


class Sizes:
    def __init__(self, quick: bool) -> None:
        self.single = 100 if quick else 300
        self.batches = 5 if quick else 20
        self.runs = 15 if quick else 50
        self.search_runs = 2_000 if quick else 10_000
        self.history = 20_000 if quick else 100_000


def prepare(uri: str, sizes: Sizes, tag: str) -> dict[str, str]:
    """The search experiment (sizes.search_runs runs) and the history run; made once per DB."""
    client = MlflowClient(uri)
    exp_id = client.create_experiment(f"bench-search-{tag}")

    def one(i: int) -> None:
        run = client.create_run(exp_id, tags={"team": "a" if i % 3 else "b"})
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("acc", (i % 1000) / 1000, 1, 0)],
            params=[Param("opt", "adam" if i % 2 else "sgd")],
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(sizes.search_runs)))
    print(
        f"    ({sizes.search_runs} runs made in {time.perf_counter() - started:.1f} s)", flush=True
    )
    hist_exp = client.create_experiment(f"bench-history-{tag}")
    run_id = client.create_run(hist_exp).info.run_id
    for start in range(0, sizes.history, 1000):
        client.log_batch(run_id, [Metric("h", float(i), i, i) for i in range(start, start + 1000)])
    client.log_batch(run_id, [Metric("k", float(i), i, i) for i in range(1000)])
    return {"search": exp_id, "history": run_id}


class Figure:
    """Records one figure into `out`; a failure prints and records NaN instead of aborting."""

    def __init__(self, out: Figures, name: str) -> None:
        self.out, self.name = out, name

    def __enter__(self) -> Figure:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: Any) -> bool:
        if e is not None:
            print(f"    {self.name} failed: {str(e)[:300]}", flush=True)
            self.out[self.name] = float("nan")
        return e is None or isinstance(e, Exception)


def workload(uri: str, sizes: Sizes, prepared: dict[str, str]) -> Figures:
    client = MlflowClient(uri)
    mlflow.set_tracking_uri(uri)
    out: Figures = {}
    exp_id = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")

    run_id = client.create_run(exp_id).info.run_id
    client.log_metric(run_id, "w", 0.0)
    start = time.perf_counter()
    for i in range(sizes.single):
        client.log_metric(run_id, "m", float(i), step=i)
    out["log_metric calls/s"] = sizes.single / (time.perf_counter() - start)

    batch = [Metric("b", float(i), i, i) for i in range(1000)]
    client.log_batch(run_id, batch)
    start = time.perf_counter()
    for _ in range(sizes.batches):
        client.log_batch(run_id, batch)
    out["log_batch metrics/s"] = sizes.batches * 1000 / (time.perf_counter() - start)

    mlflow.set_experiment(experiment_id=exp_id)
    start = time.perf_counter()
    for i in range(sizes.runs):
        with mlflow.start_run():
            mlflow.log_param("i", i)
            mlflow.log_metric("m", float(i))
    out["runs created+logged+ended/s"] = sizes.runs / (time.perf_counter() - start)

    def search() -> None:
        found = client.search_runs(
            [prepared["search"]],
            "metrics.acc > 0.5 and params.opt = 'adam'",
            order_by=["metrics.acc DESC"],
            max_results=100,
        )
        assert len(found) == 100, len(found)

    with Figure(out, "search_runs over {n} runs"):
        out["search_runs over {n} runs"] = timed(search, 10) * 1000
    rid = prepared["history"]

    def history(key: str, n: int) -> Callable[[], None]:
        def fetch() -> None:
            assert len(client.get_metric_history(rid, key)) == n

        return fetch

    for name, key, n, repeats in (
        ("get_metric_history 1,000 points", "k", 1000, 10),
        ("get_metric_history {h} points", "h", sizes.history, 3),
    ):
        with Figure(out, name):
            out[name] = timed(history(key, n), repeats) * 1000
    return out


@contextmanager
def switchyard_platform(home: Path) -> Iterator[dict[str, Any]]:
    """tracking, registry and web as `switchyard up` runs them (one process each, durable
    PostgreSQL), but every port free-picked, so another platform on this machine can't clash."""
    nats = EmbeddedNats(home / "nats").start()
    pg = EmbeddedPostgres(home / "postgres").start()
    procs: list[subprocess.Popen[bytes]] = []
    (home / "logs").mkdir(parents=True, exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    base.update(
        SWITCHYARD_HOME=str(home),
        SWITCHYARD_DATABASE_URL=pg.url,
        SWITCHYARD_NATS_URL=nats.url,
        SWITCHYARD_HOST="127.0.0.1",
    )
    web_port = free_port()
    # Authentication is on, as `up` runs it: the platform's admin token, which the
    # tracking service reads from the home, is what the mlflow client sends.
    os.environ["MLFLOW_TRACKING_TOKEN"] = ensure_token(home).read_text().strip()
    try:
        for name in ("tracking", "registry", "web"):
            grpc_port, http_port = free_port(), free_port()
            env = {
                **base,
                "SWITCHYARD_GRPC_PORT": str(grpc_port),
                "SWITCHYARD_HTTP_PORT": str(http_port),
                "SWITCHYARD_WEB_PORT": str(web_port),
            }
            if name != "tracking":
                env["SWITCHYARD_TRACKING_ADDRESS"] = base["SWITCHYARD_TRACKING_ADDRESS"]
            if name == "web":
                env["SWITCHYARD_REGISTRY_ADDRESS"] = base["SWITCHYARD_REGISTRY_ADDRESS"]
            log = open(home / "logs" / f"{name}.log", "wb")
            proc = subprocess.Popen(
                [sys.executable, "-m", f"switchyard.services.{name}.main"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            procs.append(proc)
            deadline = time.time() + 120
            while True:
                if proc.poll() is not None or time.time() > deadline:
                    raise SystemExit(f"{name} did not start; see {home / 'logs'}")
                try:
                    ready = requests.get(f"http://127.0.0.1:{http_port}/readyz", timeout=1)
                    if ready.status_code == 200:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.1)
            base[f"SWITCHYARD_{name.upper()}_ADDRESS"] = f"127.0.0.1:{grpc_port}"
        yield {"web": f"http://127.0.0.1:{web_port}", "database": pg.url}
    finally:
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        pg.stop()
        nats.stop()


async def create_database(url: str, name: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name}")
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    # SQLAlchemy 2.1 reads plain postgresql:// as psycopg 3; the server venv has psycopg2
    base = url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
    return f"{base}/{name}"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def floor_server(script: Path) -> Iterator[str]:
    """The floor server on a free port, for as long as the block runs."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(script), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"the floor server {script} did not start")
            try:
                requests.get(url + "/health", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


@contextmanager
def mlflow_server(venv: Path, db_url: str, artifacts: Path, gunicorn: bool) -> Iterator[str]:
    port = free_port()
    cmd = [
        str(venv / "bin" / "mlflow"),
        "server",
        "--backend-store-uri",
        db_url,
        "--artifacts-destination",
        str(artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    if gunicorn:
        cmd += ["--gunicorn-opts", "--log-level warning"]
    log = open(LOGS / f"mlflow-{'gunicorn' if gunicorn else 'uvicorn'}.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 240
        while True:
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                tail = Path(log.name).read_text(errors="replace")[-3000:]
                raise SystemExit(f"mlflow server did not start:\n{tail}")
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--mlflow-venv", type=Path, default=Path("/tmp/mlflow-server-venv"))
    parser.add_argument("--floor", type=Path, help="mlflow_floor_server.py: adds server shares")
    args = parser.parse_args()
    sizes = Sizes(args.quick)
    if not (args.mlflow_venv / "bin" / "mlflow").exists():
        raise SystemExit(
            f"no MLflow server in {args.mlflow_venv}: create it as this file's docstring says"
        )
    results: dict[str, Figures] = {}
    # kept after the run (the services' and servers' logs); cleared at the next one
    shutil.rmtree(LOGS, ignore_errors=True)
    root = LOGS / "data"
    root.mkdir(parents=True)
    try:
        with switchyard_platform(root / "home") as endpoints:
            web = endpoints["web"]
            print(f"Switchyard edge at {web}; preparing data", flush=True)
            prepared = prepare(web, sizes, "sy")
            print("  workload: switchyard", flush=True)
            results["switchyard"] = workload(web, sizes, prepared)
            print(f"    {results['switchyard']}", flush=True)
            db = asyncio.run(create_database(endpoints["database"], "mlflow_bench"))
            (root / "mlflow-artifacts").mkdir()
            shared: dict[str, str] = {}
            for label, gunicorn in (("mlflow-uvicorn", False), ("mlflow-gunicorn", True)):
                with mlflow_server(
                    args.mlflow_venv, db, root / "mlflow-artifacts", gunicorn
                ) as url:
                    if not shared:
                        print(f"MLflow server at {url}; preparing data", flush=True)
                        shared = prepare(url, sizes, "mlflow")
                    print(f"  workload: {label}", flush=True)
                    results[label] = workload(url, sizes, shared)
                    print(f"    {results[label]}", flush=True)
        if args.floor:
            with floor_server(args.floor) as url:
                print(f"floor server at {url}; preparing data", flush=True)
                floor_prepared = prepare(url, sizes, "floor")
                print("  workload: floor", flush=True)
                results["floor"] = workload(url, sizes, floor_prepared)
                print(f"    {results['floor']}", flush=True)
    finally:
        shutil.rmtree(root / "mlflow-artifacts", ignore_errors=True)
    print_table(results, sizes)


def print_table(results: dict[str, Figures], sizes: Sizes) -> None:
    print()
    head = (
        f"{'figure':<38}{'switchyard':>14}{'mlflow uvicorn':>16}{'mlflow gunicorn':>17}{'ratio':>9}"
    )
    print(head)
    print("-" * len(head))
    for key, unit, higher in FIGURES:
        sy_value = results["switchyard"][key]
        ml = [results[k][key] for k in ("mlflow-uvicorn", "mlflow-gunicorn") if k in results]
        best = max(ml) if higher else min(ml)
        ratio = sy_value / best if higher else best / sy_value
        name = key.format(n=f"{sizes.search_runs:,}", h=f"{sizes.history:,}")
        cells = "".join(
            f"{v:>14.1f}" if i == 0 else f"{v:>16.1f}" for i, v in enumerate([sy_value, *ml])
        )
        shares = ""
        if "floor" in results:
            shares = "   " + _shares(sy_value, best, results["floor"][key], unit, higher)
        print(f"{name + ' (' + unit + ')':<38}{cells}{ratio:>9.1f}x{shares}", flush=True)


def _shares(sy_value: float, mlflow: float, floor: float, unit: str, higher: bool) -> str:
    """The servers' shares of one operation (ms; a rate as time per operation, per 1,000
    metrics for log_batch) beside the floor, and MLflow's share over Switchyard's."""
    per = 1000.0 if unit == "metrics/s" else 1.0

    def ms(v: float) -> float:
        return per * 1000.0 / v if higher else v

    base = ms(floor)
    sy_share, ml_share = ms(sy_value) - base, ms(mlflow) - base
    ratio = ml_share / sy_share if sy_share > 0 else float("inf")
    return f"floor {base:.2f} ms; shares {sy_share:.2f} / {ml_share:.2f} ms = {ratio:.1f}x"


if __name__ == "__main__":
    main()
