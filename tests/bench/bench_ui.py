"""The web UI's figures against a real `switchyard up`, in headless Chromium.

    python tests/bench/bench_ui.py [--quick] [--mlflow PYTHON]

With 100,000 runs in one experiment (10,000 with --quick): the runs page's
server time and first paint, paging, a run page with a 100,000-point metric,
and how long a logged metric takes to show on an open chart. With --mlflow
naming a Python that has the full `mlflow` package (its UI), MLflow's runs
page over the same number of runs in the same browser is measured beside it
(`mlflow server` on SQLite, filled through its own store).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench_tracking import report, seed_runs, start_platform

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.dev.process import tcp_ready
from switchyard.sdk.endpoints import Endpoints
from switchyard.testing.browser import FLAGS, chromium


def p50(values: list[float]) -> str:
    return f"p50 {statistics.median(values) * 1000:.0f}"


def server_ms(url: str, rounds: int = 20) -> list[float]:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        with urllib.request.urlopen(url) as response:
            response.read()
        times.append(time.perf_counter() - began)
    return times


def first_paint(
    page: Any, url: str, ready: str, rounds: int = 10
) -> tuple[list[float], list[float]]:
    """(first contentful paint, time until `ready` is on the page), per load."""
    paints, readies = [], []
    for _ in range(rounds):
        page.goto("about:blank")  # a real load each round (a URL with #… would not reload)
        began = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(ready, timeout=60_000)
        readies.append(time.perf_counter() - began)
        fcp = page.evaluate(
            "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1"
        )
        paints.append(fcp / 1000)
    return paints, readies


NEXT_PAGE_JS = """() => new Promise((done) => {
  const first = document.querySelector("#runs tbody tr").dataset.run;
  const began = performance.now();
  const seen = new MutationObserver(() => {
    const row = document.querySelector("#runs tbody tr");
    if (row && row.dataset.run !== first) {
      seen.disconnect();
      requestAnimationFrame(() => done(performance.now() - began));
    }
  });
  seen.observe(document.body, { subtree: true, childList: true });
  document.querySelector("a[rel=next]").click();
})"""


def bench_switchyard(page: Any, web: str, settings: Settings, database: str, n: int) -> None:
    with sy.Client(settings=settings) as client:
        exp = client.create_experiment(f"bench-ui-{uuid.uuid4().hex[:6]}")
        # Playwright's sync API holds this thread's event loop: seed from another thread.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, seed_runs(database, exp, n)).result()
        runs_url = f"{web}/experiments/{exp}"
        report(f"runs page over {n:,} runs, server (ms)", p50(server_ms(runs_url)), "≤ 100 ms")
        paints, readies = first_paint(page, runs_url, "#runs tbody tr")
        report("  first contentful paint (ms)", p50(paints), "≤ 300 ms")
        report("  load → table shown (ms)", p50(readies))
        html = urllib.request.urlopen(runs_url).read().decode()
        token = re.search(r'page_token=([^"&]+)"', html)
        assert token, "no next page"
        next_url = f"{runs_url}?page_token={token.group(1)}"
        report("  next page, server (ms)", p50(server_ms(next_url)), "≤ 100 ms")
        clicks = []
        for _ in range(10):
            page.goto(runs_url)
            page.wait_for_selector("#runs tbody tr")
            # timed in the page: the click, the request, the swap, and the frame that shows it
            clicks.append(page.evaluate(NEXT_PAGE_JS) / 1000)
        report("  next page, click → rows painted (ms)", p50(clicks), "≤ 100 ms")

        run = client.create_run(exp, run_name="long")
        rid = run.info.run_id
        for start in range(0, 100_000, 20_000):
            points = [sy.Metric("loss", 1 / (i + 1), 0, i) for i in range(start, start + 20_000)]
            client.log_batch(rid, points)
        run_url = f"{web}/experiments/{exp}/runs/{rid}"
        report("run page, 100,000-point metric, server (ms)", p50(server_ms(run_url)))
        loads = []
        for _ in range(10):
            began = time.perf_counter()
            page.goto(run_url)
            page.wait_for_selector("#charts[data-loaded=true]")
            loads.append(time.perf_counter() - began)
        shown = int(page.locator('figure[data-key="loss"]').get_attribute("data-points"))
        report("  load → chart drawn (ms)", p50(loads), f"≤ 300 ms ({shown} points drawn)")

        page.wait_for_selector("#charts[data-stream=live]")
        latencies = []
        for step in range(100_000, 100_020):
            began = time.perf_counter()
            client.log_metric(rid, "loss", 0.5, step=step)
            page.wait_for_function(
                "n => +document.querySelector('figure[data-key=loss]').dataset.points >= n",
                arg=shown + step - 99_999,
            )
            latencies.append(time.perf_counter() - began)
        report("metric logged → on the open chart (ms)", p50(latencies), "≤ 1,000 ms")


MLFLOW_FILL = """
import sys, time
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
store = SqlAlchemyStore(sys.argv[1], sys.argv[2])
exp = store.create_experiment("bench-ui")
for g in range(int(sys.argv[3])):
    run = store.create_run(exp, "bench", 1700000000000 + g, [], "run-%d" % g)
    rid = run.info.run_id
    store.log_batch(
        rid,
        metrics=[Metric(k, (g * 7919 % 1000) / 1000, 1700000000000, 100) for k in
                 ("acc", "loss", "f1", "auc", "val_loss")],
        params=[Param(k, "v%d" % (g % 17)) for k in ("lr", "depth", "optimizer", "batch", "seed")],
        tags=[RunTag(k, "x%d" % (g % 11)) for k in ("team", "owner", "stage", "git", "host")],
    )
    store.update_run_info(rid, RunStatus.FINISHED, 1700000000000 + g + 1, None)
print(exp)
"""


def bench_mlflow(page: Any, python: str, n: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="sy-bench-mlflow-ui-"))
    db = f"sqlite:///{folder}/mlflow.db"
    began = time.perf_counter()
    exp = (
        subprocess.run(
            [python, "-c", MLFLOW_FILL, db, str(folder / "artifacts"), str(n)],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    print(f"  (filled MLflow with {n:,} runs in {time.perf_counter() - began:.0f} s)")
    port = 5123
    server = subprocess.Popen(
        [
            python,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            db,
            "--port",
            str(port),
            "--workers",
            "1",
            "--default-artifact-root",
            str(folder / "artifacts"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not tcp_ready("127.0.0.1", port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("mlflow server did not start")
            time.sleep(0.2)
        # MLflow 3 opens an experiment on its GenAI overview: its runs table is here
        url = f"http://127.0.0.1:{port}/#/experiments/{exp}/runs?workflowType=machine_learning"
        search = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/runs/search"
        body = f'{{"experiment_ids": ["{exp}"], "max_results": 100}}'.encode()
        times = []
        for _ in range(10):
            request = urllib.request.Request(search, body, {"Content-Type": "application/json"})
            began = time.perf_counter()
            urllib.request.urlopen(request).read()
            times.append(time.perf_counter() - began)
        report(f"MLflow 3.17.2 runs search over {n:,} runs, server (ms)", p50(times))
        paints, readies = first_paint(page, url, f"text=run-{n - 1}", rounds=5)
        report("  MLflow UI first contentful paint (ms)", p50(paints))
        report("  MLflow UI load → first run shown (ms)", p50(readies))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 runs instead of 100,000")
    parser.add_argument("--mlflow", help="a Python with the full mlflow package, for its UI")
    parser.add_argument("--mlflow-runs", type=int, default=10_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    n = 10_000 if args.quick else 100_000
    print(f"{'figure':<58} {'median':>22}   anchor")
    home = Path(tempfile.mkdtemp(prefix="sy-bench-ui-"))
    proc, _ = start_platform(home)
    try:
        endpoints = Endpoints.read(home / "endpoints.json")
        settings = Settings(home=home)
        # signed in as the platform's admin: the page by cookie, urllib by header
        token = (home / "token").read_text().strip()
        opener = urllib.request.build_opener()
        opener.addheaders = [("Authorization", f"Bearer {token}")]
        urllib.request.install_opener(opener)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium() or "chromium", args=FLAGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            web = endpoints.http["web"]
            context.add_cookies([{"name": "sy_token", "value": token, "url": web}])
            page = context.new_page()
            bench_switchyard(page, endpoints.http["web"], settings, endpoints.database or "", n)
            if args.mlflow:
                bench_mlflow(page, args.mlflow, args.mlflow_runs)
            browser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


if __name__ == "__main__":
    sys.exit(main())
