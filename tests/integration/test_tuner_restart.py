"""A tuner killed mid-study and started again loses nothing and repeats nothing.

This module runs a platform of its own without a tuner (tracking and the
scheduler, on the shared NATS and PostgreSQL) and serves the tuner itself
on an event loop of its own, so the test can kill it: its task is
cancelled mid-flight, which drops its connections (and so its study
locks) and every in-memory state, as a SIGKILL would. A fresh tuner then
rebuilds the study from its tables and the durable events.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from switchyard.core.config import Settings
from switchyard.core.runner import Bound, serve
from switchyard.proto.v1 import scheduler_pb2 as spb
from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.proto.v1 import tuner_pb2_grpc as rpc
from switchyard.sdk.jobs import JobsClient
from switchyard.services.tuner.spec import SPEC
from switchyard.testing.platform import Infrastructure, LocalPlatform
from switchyard.testing.workers import WorkerProcess

PY = sys.executable

TRIAL = """
import os, time
import switchyard as sy
x = float(os.environ["SWITCHYARD_PARAM_X"])
for step in range(3):
    time.sleep(0.3)
    sy.log_metric("loss", (x - 0.3) ** 2 + 1.0 / (step + 1), step=step)
"""


class TunerReplica:
    """The tuner service on an event loop and thread of its own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bound: Bound | None = None
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        stop = asyncio.Event()

        def ready(bound: Bound) -> None:
            self.bound = bound
            self._ready.set()

        self._task = self._loop.create_task(serve(SPEC, self.settings, stop=stop, on_ready=ready))
        try:
            self._loop.run_until_complete(self._task)
        except BaseException:  # killed
            pass
        finally:
            self._ready.set()
            self._loop.close()

    def start(self) -> TunerReplica:
        self._thread.start()
        assert self._ready.wait(60) and self.bound is not None, "the tuner did not start"
        return self

    def kill(self) -> None:
        """Cancel the service mid-flight: no drain, nothing finished."""
        assert self._task is not None
        self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(30)
        assert not self._thread.is_alive()


@pytest.fixture(scope="module")
def platform(
    switchyard_infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalPlatform]:
    home = tmp_path_factory.mktemp("tuner-restart")
    with LocalPlatform(switchyard_infra, home, services=("tracking", "scheduler")) as platform:
        yield platform


@pytest.fixture(scope="module")
def pool(platform: LocalPlatform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"restart-{uuid4().hex[:6]}"
    log = tmp_path_factory.mktemp("restart-worker") / "worker.log"
    with WorkerProcess(platform.settings.home, name, log, cpus=2):
        yield name


def stub(replica: TunerReplica) -> rpc.TunerServiceStub:
    assert replica.bound is not None
    from switchyard.testing.auth import authorized_channel

    return rpc.TunerServiceStub(authorized_channel(replica.bound.grpc, replica.settings))


def test_killed_tuner_resumes_with_exactly_max_trials(
    platform: LocalPlatform, pool: str, tmp_path: Path
) -> None:
    script = tmp_path / "trial.py"
    script.write_text(TRIAL)
    max_trials = 6
    spec = pb.StudySpec(
        name=f"restart-{uuid4().hex[:6]}",
        params=[pb.Param(name="x", float=pb.FloatRange(low=0.0, high=1.0))],
        objectives=[pb.Objective(metric="loss")],
        algorithm="tpe",
        trial=spb.JobSpec(command=[PY, str(script)], pool=pool),
        parallel=2,
        max_trials=max_trials,
        has_seed=True,
        seed=1,
    )
    first = TunerReplica(platform.settings).start()
    study_id = stub(first).CreateStudy(pb.CreateStudyRequest(spec=spec)).study.study_id
    deadline = time.monotonic() + 60
    while True:  # kill it with trials done and trials in flight
        study = stub(first).GetStudy(pb.GetStudyRequest(study_id=study_id)).study
        if study.trials_completed >= 2 and study.trials_running >= 1:
            break
        assert time.monotonic() < deadline, study
        time.sleep(0.05)
    first.kill()

    second = TunerReplica(platform.settings).start()
    tuner = stub(second)
    deadline = time.monotonic() + 90
    while True:
        study = tuner.GetStudy(pb.GetStudyRequest(study_id=study_id)).study
        if study.state != pb.STUDY_RUNNING:
            break
        assert time.monotonic() < deadline, study
        time.sleep(0.2)
    trials = list(tuner.ListTrials(pb.ListTrialsRequest(study_id=study_id)).trials)
    second.kill()
    assert study.state == pb.STUDY_COMPLETED, study.message
    assert [t.number for t in trials] == list(range(max_trials))
    assert all(t.state == pb.TRIAL_COMPLETED for t in trials), trials
    assert study.trials_completed == max_trials
    with JobsClient(settings=platform.client_settings()) as jobs:
        for t in trials:  # one job per trial: none submitted twice
            found = jobs.list_jobs(name=f"{spec.name}-trial-{t.number}", limit=10)
            assert [j.id for j in found] == [t.job_id]
