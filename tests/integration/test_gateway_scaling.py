"""The gateway under load and under failure: autoscaling up and down, scale to
zero and back, shadow traffic, and a replica's worker SIGKILLed.

The model here sleeps 50 ms per call, so the requests in flight are the
clients' concurrency and the autoscaler's figures are predictable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

import switchyard as sy
from switchyard import errors
from switchyard.core.config import Settings
from switchyard.sdk import fluent
from switchyard.sdk.jobs import JobsClient
from switchyard.testing.platform import LocalPlatform
from switchyard.testing.workers import WorkerProcess, new_pool

ROW = np.array([[1.0, 2.0, 3.0, 4.0]])


def slow_sum(x: object) -> object:
    import time

    import numpy as np

    time.sleep(0.05)
    return np.asarray(x, dtype=np.float64).sum(axis=1)


def doubled(x: object) -> object:
    import numpy as np

    return np.asarray(x, dtype=np.float64).sum(axis=1) * 2


@pytest.fixture(scope="module")
def settings(switchyard_platform: LocalPlatform) -> Iterator[Settings]:
    settings = switchyard_platform.client_settings()
    fluent.reset(settings)
    yield settings
    fluent.reset()


@pytest.fixture(scope="module")
def model(settings: Settings) -> str:
    name = f"gw-slow-{time.monotonic_ns() % 10**8}"
    with sy.start_run():
        sy.log_model(slow_sum, "slow", registered_model_name=name, flavor="python_function")
        sy.log_model(doubled, "doubled", registered_model_name=name, flavor="python_function")
    return name


@pytest.fixture(scope="module")
def pool(switchyard_workers: Callable[..., list[WorkerProcess]]) -> str:
    return switchyard_workers(new_pool("gw-scale"), cpus=16)[0].pool


def load(name: str, settings: Settings, clients: int, seconds: float) -> list[BaseException]:
    """`clients` threads calling sy.predict in a loop for `seconds`; the failures."""
    failures: list[BaseException] = []
    stop = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < stop:
            try:
                sy.predict(name, ROW, settings=settings)
            except BaseException as exc:  # every failure counts
                failures.append(exc)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def scaled(name: str, settings: Settings) -> list[tuple[int, int, str]]:
    stream = sy.events("sy.gateway.replicas.scaled", deliver="all", timeout=1.0, settings=settings)
    return [
        (e.data.from_replicas, e.data.to_replicas, e.data.reason)
        for e in stream
        if e.subject == name and e.data.role == "stable"
    ]


def test_scales_up_under_a_load_step_and_back_down(
    model: str, pool: str, settings: Settings
) -> None:
    deployment = sy.deploy(
        f"models:/{model}/1",
        "elastic",
        pool=pool,
        min_replicas=1,
        max_replicas=3,
        target_concurrency=1,
        autoscaling={"stable_window_s": 4, "panic_window_s": 1},
        settings=settings,
    )
    deployment.wait_ready(60)
    assert load("elastic", settings, clients=6, seconds=5) == []
    deployment.refresh()
    assert deployment.desired_replicas == 3, deployment
    deadline = time.monotonic() + 30
    while deployment.replicas < 3:
        assert time.monotonic() < deadline, deployment
        time.sleep(0.2)
        deployment.refresh()
    # Idle now: back to min_replicas after the stable window, not at once.
    deadline = time.monotonic() + 30
    while deployment.desired_replicas > 1 or len(deployment.replica_list) > 1:
        assert time.monotonic() < deadline, deployment
        time.sleep(0.5)
        deployment.refresh()
    decisions = scaled("elastic", settings)
    ups = [d for d in decisions if d[1] > d[0]]
    downs = [d for d in decisions if d[1] < d[0]]
    assert ups and max(d[1] for d in ups) == 3, decisions
    assert downs and downs[-1][1] == 1, decisions


def test_scales_to_zero_when_idle_and_back_on_a_request(
    model: str, pool: str, settings: Settings
) -> None:
    deployment = sy.deploy(
        f"models:/{model}/2",
        "napping",
        pool=pool,
        min_replicas=0,
        autoscaling={"scale_to_zero_grace_s": 2, "stable_window_s": 4, "panic_window_s": 1},
        settings=settings,
    )
    np.testing.assert_allclose(sy.predict("napping", ROW, settings=settings), [20.0])
    deadline = time.monotonic() + 30
    while deployment.refresh().state != "IDLE" or deployment.replica_list:
        assert time.monotonic() < deadline, deployment
        time.sleep(0.3)
    assert any(d[1] == 0 and d[2] == "scale to zero" for d in scaled("napping", settings))
    np.testing.assert_allclose(sy.predict("napping", ROW, settings=settings), [20.0])
    assert deployment.refresh().state == "READY"


def test_shadow_traffic_is_mirrored_and_its_answers_dropped(
    model: str, pool: str, settings: Settings
) -> None:
    deployment = sy.deploy(
        f"models:/{model}/1",
        "mirrored",
        pool=pool,
        shadow=f"models:/{model}/2",
        settings=settings,
    )
    deployment.wait_ready(60)
    deadline = time.monotonic() + 60
    while not any(r.role == "shadow" and r.ready_replicas for r in deployment.revisions):
        assert time.monotonic() < deadline, deployment
        time.sleep(0.2)
        deployment.refresh()
    for _ in range(10):  # the stable version answers, every time
        np.testing.assert_allclose(sy.predict("mirrored", ROW, settings=settings), [10.0])
    time.sleep(0.5)
    shadow = next(r for r in deployment.refresh().revisions if r.role == "shadow")
    assert shadow.requests == 10 and shadow.errors == 0, shadow


def test_a_replica_whose_worker_is_killed_comes_back_elsewhere(
    model: str,
    settings: Settings,
    switchyard_workers: Callable[..., list[WorkerProcess]],
) -> None:
    workers = switchyard_workers(new_pool("gw-kill"), count=2, cpus=2)
    deployment = sy.deploy(
        f"models:/{model}/2", "survivor", pool=workers[0].pool, settings=settings
    )
    deployment.wait_ready(60)
    np.testing.assert_allclose(sy.predict("survivor", ROW, settings=settings), [20.0])
    (replica,) = deployment.refresh().replica_list
    jobs = JobsClient(settings=settings)
    job = jobs.get_job(replica.job_id)
    victim = next(w for w in workers if f"-{w.proc.pid}-" in job.worker_id)
    victim.proc.kill()
    victim.proc.wait()
    started = time.monotonic()
    while True:  # requests fail or wait while the replica moves, then resume
        try:
            np.testing.assert_allclose(
                sy.predict("survivor", ROW, timeout=10, settings=settings), [20.0]
            )
            break
        except errors.SwitchyardError:
            assert time.monotonic() - started < 60, deployment.refresh()
            time.sleep(0.5)
    moved = jobs.get_job(replica.job_id)
    assert f"-{victim.proc.pid}-" not in moved.worker_id and moved.worker_losses == 1
