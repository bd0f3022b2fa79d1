"""pytest fixtures for testing against a real Switchyard (auto-loaded plugin).

    def test_my_automation(switchyard_client):
        exp = switchyard_client.create_experiment("x")

`switchyard_infra` (session): NATS + PostgreSQL, embedded or from env.
`switchyard_platform` (session): every service, isolated by namespace.
`switchyard_settings`: client settings that find that platform.
`switchyard_client`: a `sy.Client` on it, closed after the test.
`switchyard_fluent`: points `sy.start_run()` & co. at it for one test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from switchyard.core.config import Settings
from switchyard.sdk import fluent
from switchyard.sdk.client import Client
from switchyard.testing.platform import Infrastructure, LocalPlatform


@pytest.fixture(scope="session")
def switchyard_infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    infra = Infrastructure(tmp_path_factory.mktemp("infra")).start()
    yield infra
    infra.close()


@pytest.fixture(scope="session")
def switchyard_platform(
    switchyard_infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalPlatform]:
    with LocalPlatform(switchyard_infra, tmp_path_factory.mktemp("home")) as platform:
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
