"""Operations metrics against the real platform and a real `switchyard worker`.

The scheduler's gauges show what its database holds (jobs waiting in a pool
nobody serves; a worker and its capacity), its counters what it did
(admissions); the worker's own port shows the jobs it ran; and every metric
that a dashboard or an alert rule under deploy/ queries is one the platform
exports (scraped, not imported: what Prometheus would see).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from switchyard.sdk.jobs import Job, JobsClient
from switchyard.testing.platform import LocalPlatform, free_port
from switchyard.testing.workers import WorkerProcess, new_pool

MONITORING = Path(__file__).resolve().parents[2] / "deploy/kubernetes/components/monitoring"
SAMPLED_WITHIN_S = 20.0  # the scheduler samples its gauges every 5 s
# Prometheus's own series, not the platform's.
BUILTIN = {"up"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base_url: str) -> str:
    with urllib.request.urlopen(base_url + "/metrics", timeout=5) as reply:
        return str(reply.read().decode())


def samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def eventually(
    url: str, check: Callable[[Samples], bool], within_s: float = SAMPLED_WITHIN_S
) -> Samples:
    deadline = time.monotonic() + within_s
    while True:
        found = samples(scrape(url))
        if check(found):
            return found
        assert time.monotonic() < deadline, "the metrics never showed it"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def jobs(switchyard_platform: LocalPlatform) -> Iterator[JobsClient]:
    with JobsClient(settings=switchyard_platform.client_settings()) as client:
        yield client


@pytest.fixture(scope="module")
def scheduler_url(switchyard_platform: LocalPlatform) -> str:
    return switchyard_platform.bound["scheduler"].http


@pytest.fixture(scope="module")
def worker(
    switchyard_platform: LocalPlatform, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    home = switchyard_platform.settings.home
    with WorkerProcess(home, new_pool("ops"), log, cpus=2, http_port=free_port()) as started:
        yield started


def test_jobs_in_a_pool_without_workers_show_as_queued(
    jobs: JobsClient, scheduler_url: str, uniq: Callable[..., str]
) -> None:
    queue, pool = uniq("q"), new_pool("nobody")
    jobs.create_queue(queue)
    waiting = [jobs.submit_job("true", queue=queue, pool=pool) for _ in range(2)]
    try:
        found = eventually(
            scheduler_url,
            lambda m: value(m, "switchyard_scheduler_queued_jobs", queue=queue) == 2,
        )
        assert value(found, "switchyard_scheduler_pool_queued_jobs", pool=pool) == 2
        assert value(found, "switchyard_scheduler_workers", pool=pool) == 0  # the alert's case
        assert (value(found, "switchyard_scheduler_jobs", state="QUEUED") or 0) >= 2
        assert (value(found, "switchyard_scheduler_oldest_wait_seconds", queue=queue) or 0) > 0
        assert value(found, "switchyard_scheduler_admissions_total", queue=queue) is None
    finally:
        for job in waiting:
            job.cancel()
    # once none waits, the queue shows 0 and the pool is gone
    found = eventually(
        scheduler_url, lambda m: value(m, "switchyard_scheduler_queued_jobs", queue=queue) == 0
    )
    assert value(found, "switchyard_scheduler_pool_queued_jobs", pool=pool) is None


def test_a_worker_and_its_admissions_show(
    jobs: JobsClient, scheduler_url: str, worker: WorkerProcess, uniq: Callable[..., str]
) -> None:
    queue, pool = uniq("q"), worker.pool
    jobs.create_queue(queue)
    submitted = [jobs.submit_job(cmd, queue=queue, pool=pool) for cmd in ("true", "false")]
    done = [job.wait(timeout=60) for job in submitted]
    assert [j.state for j in done] == ["SUCCEEDED", "FAILED"]

    found = eventually(
        scheduler_url, lambda m: value(m, "switchyard_scheduler_workers", pool=pool) == 1
    )
    assert value(found, "switchyard_scheduler_admissions_total", queue=queue) == 2
    assert value(found, "switchyard_scheduler_admission_wait_seconds_count", queue=queue) == 2
    assert value(found, "switchyard_scheduler_pool_capacity_cpus", pool=pool) == 2
    assert value(found, "switchyard_scheduler_pool_capacity_memory_bytes", pool=pool) == 4 << 30

    # the worker's own port: what it ran, by outcome
    at = f"http://127.0.0.1:{worker.http_port}"
    mine = samples(scrape(at))
    assert value(mine, "switchyard_worker_job_starts_total", pool=pool) == 2
    assert value(mine, "switchyard_worker_job_finishes_total", pool=pool, outcome="succeeded") == 1
    assert value(mine, "switchyard_worker_job_finishes_total", pool=pool, outcome="failed") == 1
    assert value(mine, "switchyard_worker_running_jobs", pool=pool) == 0


def test_a_running_job_holds_its_pool(
    jobs: JobsClient, scheduler_url: str, worker: WorkerProcess, uniq: Callable[..., str]
) -> None:
    pool = worker.pool
    job: Job = jobs.submit_job("sleep 30", pool=pool, cpus=1.5)
    try:
        found = eventually(
            scheduler_url,
            lambda m: value(m, "switchyard_scheduler_pool_used_cpus", pool=pool) == 1.5,
        )
        assert (value(found, "switchyard_scheduler_jobs", state="RUNNING") or 0) >= 1
        mine = samples(scrape(f"http://127.0.0.1:{worker.http_port}"))
        assert value(mine, "switchyard_worker_running_jobs", pool=pool) == 1
    finally:
        job.cancel()
    mine = eventually(
        f"http://127.0.0.1:{worker.http_port}",
        lambda m: value(m, "switchyard_worker_running_jobs", pool=pool) == 0,
    )
    assert value(mine, "switchyard_worker_job_finishes_total", pool=pool, outcome="cancelled") == 1


# -- dashboards and alerts query only what is exported ------------------------------

# PromQL words that are not metric names: functions are told apart by their "(".
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or"}
_KEYWORDS |= {"unless", "bool", "offset", "le", "inf", "nan"}
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or a Grafana `label_values(...)`) reads."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings: label values, regexes
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges, subqueries
    expr = _GROUPING.sub("", expr)
    expr = re.sub(r"\$\w+", "", expr)  # Grafana variables ($__rate_interval)
    expr = re.sub(r"label_values\(([^,)]+),[^)]*\)", r"\1", expr)  # its label argument
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)\s*(\()?", expr):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in _KEYWORDS or re.fullmatch(r"\d.*", word):
            continue
        names.add(word)
    return names


def dashboard_queries() -> dict[str, list[str]]:
    queries: dict[str, list[str]] = {}
    for path in sorted((MONITORING / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        found = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
        found += [v["definition"] for v in board["templating"]["list"] if v["type"] == "query"]
        queries[path.name] = found
    return queries


def alert_queries() -> list[str]:
    rule = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    return [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]


def exported_names(text: str) -> set[str]:
    """Every series name the exposition can carry, those with no sample yet included
    (a labelled counter that has not counted shows only its HELP and TYPE)."""
    names = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    for family in text_string_to_metric_families(text):
        names.update(s.name for s in family.samples)
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
    return names


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, job) (rate(a_seconds_bucket{code!="OK",'
        ' method=~"x|y"}[5m]))) / on (pool) max by (pool) (b_total > 0) and c offset 5m'
    )
    assert metric_names(expr) == {"a_seconds_bucket", "b_total", "c"}
    assert metric_names("label_values(d_jobs, queue)") == {"d_jobs"}
    assert metric_names('sum(rate(e[$__rate_interval])) / max(f{x="a b"})') == {"e", "f"}


def test_every_queried_metric_is_exported(
    switchyard_platform: LocalPlatform, worker: WorkerProcess
) -> None:
    exported = set(BUILTIN)
    # In-process services share one registry, but scrape each as Prometheus would.
    for bound in switchyard_platform.bound.values():
        exported |= exported_names(scrape(bound.http))
    exported |= exported_names(scrape(f"http://127.0.0.1:{worker.http_port}"))

    queries = dashboard_queries()
    assert set(queries) == {"platform-overview.json", "scheduler.json", "tracking-ingest.json"}
    queries["alerts.yaml"] = alert_queries()
    missing = {
        (where, name)
        for where, exprs in queries.items()
        for expr in exprs
        for name in metric_names(expr)
        if name not in exported
    }
    assert not missing, f"queried but not exported: {sorted(missing)}"
    queried = {n for exprs in queries.values() for e in exprs for n in metric_names(e)}
    assert len(queried) > 25  # the parse found the queries' metrics, not nothing
