"""The tuner's Prometheus metrics: studies and trials running, read from its
database when scraped (core.sampling; the same on every replica: take max())."""

from __future__ import annotations

from prometheus_client import Gauge

from switchyard.services.tuner.store import TunerStore

STUDIES = Gauge(
    "switchyard_tuner_studies_running",
    "Studies running (the same on every tuner replica: take max())",
)
TRIALS = Gauge(
    "switchyard_tuner_trials_running",
    "Trials running or waiting for a job (the same on every tuner replica: take max())",
)


async def sample(store: TunerStore) -> None:
    studies, trials = await store.count_running()
    STUDIES.set(studies)
    TRIALS.set(trials)
