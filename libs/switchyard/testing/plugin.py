"""pytest fixtures for testing against a real Switchyard (auto-loaded plugin).

    def test_my_automation(switchyard_client):
        exp = switchyard_client.create_experiment("x")

`switchyard_infra` (session): NATS + PostgreSQL, embedded or from env.
`switchyard_platform` (session): every service, isolated by namespace, with
authentication on (its admin token in its home and in MLFLOW_TRACKING_TOKEN).
`switchyard_settings`: client settings that find that platform.
`switchyard_client`: a `sy.Client` on it, closed after the test.
`switchyard_fluent`: points `sy.start_run()` & co. at it for one test.
`switchyard_workers` (module): starts real `switchyard worker` processes on it,
`switchyard_workers(pool=None, count=1, cpus=1, gpus=0)` -> the workers started
(`.pool` names their pool, a new one when none is given); stopped after the module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from switchyard.core.config import Settings
from switchyard.sdk import fluent
from switchyard.sdk.client import Client
from switchyard.testing.platform import Infrastructure, LocalPlatform
from switchyard.testing.workers import WorkerProcess, new_pool


@pytest.fixture(scope="session")
def switchyard_infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    infra = Infrastructure(tmp_path_factory.mktemp("infra")).start()
    yield infra
    infra.close()


@pytest.fixture(scope="session")
def switchyard_platform(
    switchyard_infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalPlatform]:
    with (
        LocalPlatform(switchyard_infra, tmp_path_factory.mktemp("home")) as platform,
        pytest.MonkeyPatch.context() as env,
    ):
        # the mlflow client in these tests calls with the platform's token, as a
        # user's shell does after `export MLFLOW_TRACKING_TOKEN=$(cat .switchyard/token)`
        env.setenv("MLFLOW_TRACKING_TOKEN", platform.token)
        yield platform


@pytest.fixture
def switchyard_settings(switchyard_platform: LocalPlatform) -> Settings:
    return switchyard_platform.client_settings()


@pytest.fixture
def switchyard_client(switchyard_settings: Settings) -> Iterator[Client]:
    with Client(settings=switchyard_settings) as client:
        yield client


@pytest.fixture
def switchyard_fluent(switchyard_settings: Settings) -> Iterator[None]:
    fluent.reset(switchyard_settings)
    yield
    while fluent.active_run() is not None:
        fluent.end_run()
    fluent.reset()


@pytest.fixture(scope="module")
def switchyard_workers(
    switchyard_platform: LocalPlatform, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., list[WorkerProcess]]]:
    started: list[WorkerProcess] = []
    logs = tmp_path_factory.mktemp("workers")

    def start(
        pool: str | None = None, count: int = 1, cpus: float = 1, gpus: int = 0
    ) -> list[WorkerProcess]:
        name = pool or new_pool()
        new = [
            WorkerProcess(
                switchyard_platform.settings.home,
                name,
                logs / f"worker-{name}-{len(started) + i}.log",
                cpus=cpus,
                gpus=gpus,
            )
            for i in range(count)
        ]
        started.extend(new)
        return [w.wait_ready() for w in new]

    yield start
    for worker in started:
        worker.stop()
