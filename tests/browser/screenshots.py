"""The README's screenshots of the web UI, from a fresh `switchyard up --demo`.

    python tests/browser/screenshots.py [--out docs]

Starts the platform in a temporary home, logs a small sweep of runs (one left
RUNNING, so its page is live), takes each main page at 1280x800 in headless
Chromium, and stops the platform.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.sdk.endpoints import Endpoints
from switchyard.testing.browser import FLAGS, chromium


def start(home: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env["SWITCHYARD_HOME"] = str(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchyard.cli.main", "up", "--demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (home / "endpoints.json").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("switchyard up failed")
        time.sleep(0.1)
    return proc


def fill(client: sy.Client) -> tuple[str, list[str]]:
    """A learning-rate sweep: five runs with loss and accuracy curves."""
    exp = client.create_experiment("resnet-sweep", tags={"team": "vision"})
    runs = []
    for i, lr in enumerate((0.3, 0.1, 0.03, 0.01, 0.003)):
        run = client.create_run(exp, run_name=f"lr-{lr}")
        rid = run.info.run_id
        steps = 400 if i < 4 else 250  # the last is still training
        loss = [
            sy.Metric(
                "loss", 2.3 * math.exp(-s / (60 + 40 * i)) + 0.05 * math.sin(s / 7) ** 2, 0, s
            )
            for s in range(steps)
        ]
        acc = [
            sy.Metric("val_acc", 0.95 - 0.6 * math.exp(-s / (80 + 30 * i)), 0, s)
            for s in range(0, steps, 10)
        ]
        params = {"lr": str(lr), "batch_size": "128", "optimizer": "sgd" if i % 2 else "adam"}
        client.log_batch(rid, metrics=loss + acc, params=params, tags={"owner": "ana"})
        if i < 4:
            client.set_terminated(rid)
        runs.append(rid)
    return exp, runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="sy-shots-"))
    proc = start(home)
    try:
        web = Endpoints.read(home / "endpoints.json").http["web"]
        with sy.Client(settings=Settings(home=home)) as client:
            exp, runs = fill(client)
        shots = {
            "ui-runs.png": f"/experiments/{exp}",
            "ui-run.png": f"/experiments/{exp}/runs/{runs[-1]}",
            "ui-compare.png": f"/compare?runs={runs[0]}&runs={runs[2]}&runs={runs[4]}",
            "ui-models.png": "/models",
            "ui-jobs.png": "/jobs",
        }
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium() or "chromium", args=FLAGS)
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            token = (home / "token").read_text().strip()  # signed in, as /login leaves it
            context.add_cookies([{"name": "sy_token", "value": token, "url": web}])
            page = context.new_page()
            for name, path in shots.items():
                page.goto(web + path)
                page.wait_for_timeout(1500)  # charts fetched and drawn
                page.screenshot(path=str(out / name))
                print(out / name)
            browser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
