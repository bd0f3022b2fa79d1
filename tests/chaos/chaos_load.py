"""The load and the watchers of the chaos suite, each on its own thread.

Every writer keeps what the platform acknowledged (a call that returned),
so the suite can check afterwards that all of it is there; a call that
raised is counted, not kept, since the platform never said it was done.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.sdk.jobs import JobsClient

TERMINAL = {"sy.scheduler.job.succeeded", "sy.scheduler.job.failed", "sy.scheduler.job.cancelled"}
_DEAD_LOOP = re.compile(rb"^switchyard_loop_running\{[^}]*\} 0\.0$", re.MULTILINE)


class Worker(threading.Thread):
    """Calls `step` until stopped; an exception is counted and the loop goes on."""

    def __init__(self, name: str, step: Callable[[], None], pause: float = 0.02) -> None:
        super().__init__(name=name, daemon=True)
        self.step = step
        self.pause = pause
        self.stopping = threading.Event()
        self.errors: Counter[str] = Counter()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.step()
            except Exception as exc:  # the platform is down for a moment: go on
                self.errors[type(exc).__name__] += 1
                time.sleep(0.2)
            time.sleep(self.pause)

    def stop(self) -> None:
        self.stopping.set()
        self.join(60)


@dataclass
class Acknowledged:
    """What the platform said it has (guarded by `lock`)."""

    sdk_runs: dict[str, int] = field(default_factory=dict)  # run id -> metric points
    mlflow_runs: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SdkWriter:
    """The SDK: a run, then a few metric points, each point one acknowledged call."""

    def __init__(self, settings: Settings, experiment_id: str, acked: Acknowledged) -> None:
        self.client = sy.Client(settings=settings)
        self.experiment_id = experiment_id
        self.acked = acked
        self._run: str | None = None
        self._points = 0

    def step(self) -> None:
        if self._run is None or self._points >= 5:
            run = self.client.create_run(self.experiment_id)
            self._run, self._points = run.info.run_id, 0
            with self.acked.lock:
                self.acked.sdk_runs[self._run] = 0
        self.client.log_metric(self._run, "loss", 1.0 / (self._points + 1), step=self._points)
        self._points += 1
        with self.acked.lock:
            self.acked.sdk_runs[self._run] = self._points


class MlflowWriter:
    """The real `mlflow` client against the web edge: a run with a param."""

    def __init__(self, tracking_uri: str, experiment_id: str, acked: Acknowledged) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.experiment_id = experiment_id
        self.acked = acked

    def step(self) -> None:
        run = self.client.create_run(self.experiment_id)
        with self.acked.lock:
            self.acked.mlflow_runs.append(run.info.run_id)


class JobSubmitter:
    def __init__(self, settings: Settings, acked: Acknowledged) -> None:
        self.client = JobsClient(settings=settings)
        self.acked = acked

    def step(self) -> None:
        job = self.client.submit_job(["true"], name="chaos", cpus=0.1)
        with self.acked.lock:
            self.acked.jobs.append(job.id)


def start_load(
    settings: Settings, web: str, experiment_id: str, acked: Acknowledged, job_pause: float
) -> list[Worker]:
    """The mixed load, started: SDK logging, the mlflow client, job submissions."""
    workers = [
        Worker("sdk", SdkWriter(settings, experiment_id, acked).step),
        Worker("mlflow", MlflowWriter(web, experiment_id, acked).step),
        Worker("jobs", JobSubmitter(settings, acked).step, pause=job_pause),
    ]
    for w in workers:
        w.start()
    return workers


class Deliveries:
    """A durable subscriber's view: how often each event reached it."""

    def __init__(self) -> None:
        self.runs_created: Counter[str] = Counter()
        self.job_terminals: Counter[str] = Counter()
        self.ids: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, event: sy.Event) -> None:
        with self._lock:
            self.ids[event.id] += 1
            if event.type == "sy.tracking.run.created":
                self.runs_created[event.subject] += 1
            elif event.type in TERMINAL:
                self.job_terminals[event.subject] += 1

    def duplicates(self) -> int:
        with self._lock:
            return sum(n - 1 for n in self.ids.values() if n > 1)


def get(url: str, timeout: float = 1.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


class ReadinessWatch(threading.Thread):
    """Polls every service: `/readyz` must never be 200 while `/metrics` shows a
    background loop dead (asked after the metrics, so a loop that died between
    the two still counts against readiness)."""

    def __init__(self, probes: dict[str, str]) -> None:
        super().__init__(name="readiness-watch", daemon=True)
        self.probes = probes
        self.stopping = threading.Event()
        self.lies: list[str] = []
        self.polls = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            for name, base in self.probes.items():
                _, metrics = get(f"{base}/metrics")
                dead = _DEAD_LOOP.findall(metrics)
                if dead and get(f"{base}/readyz")[0] == 200:
                    self.lies.append(f"{name}: ready with {dead[0].decode()}")
                self.polls += 1
            time.sleep(0.2)

    def stop(self) -> None:
        self.stopping.set()
        self.join(30)


def all_ready(probes: dict[str, str]) -> bool:
    return all(get(f"{base}/readyz", 0.5)[0] == 200 for base in probes.values())


def until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> float:
    """Wait for `check`; the seconds it took."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, f"timed out waiting for: {what}"
        time.sleep(every)
    return time.monotonic() - start


def jetstream_dir(home: Path) -> Path:
    return home / "nats" / "jetstream"
