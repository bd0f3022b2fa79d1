"""A trainer-worker's Prometheus metrics, on its own probe port (`/metrics`).

One worker process per pod: the pool label lets dashboards add workers up
by pool; Prometheus's target labels tell the workers apart.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

RUNNING = Gauge("switchyard_worker_running_jobs", "Job processes running now", ["pool"])
STARTS = Counter("switchyard_worker_job_starts_total", "Job processes started", ["pool"])
FINISHES = Counter(
    "switchyard_worker_job_finishes_total",
    "Job processes ended, by outcome: succeeded, failed, cancelled, handed_back"
    " (the worker stopped and gave the job back to its queue)",
    ["pool", "outcome"],
)


def outcome(code: int, reason: str, handed_back: str) -> str:
    """How a job process ended, in the words of the metric's label."""
    if reason == handed_back:
        return "handed_back"
    if reason == "cancelled":
        return "cancelled"
    return "succeeded" if code == 0 and not reason else "failed"
