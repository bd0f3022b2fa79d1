"""Which real servers the test harness uses: env-named, containers, or embedded."""

from pathlib import Path

import pytest

from switchyard.core.config import Settings
from switchyard.testing.containers import docker_available
from switchyard.testing.platform import Infrastructure


def test_named_servers_are_used_as_they_are(tmp_path: Path) -> None:
    infra = Infrastructure(
        tmp_path,
        settings=Settings(nats_url="nats://db:4222", database_url="postgresql://u@db/x"),
    )
    infra.start()  # starts nothing
    assert (infra.nats_url, infra.database_url) == ("nats://db:4222", "postgresql://u@db/x")
    infra.close()


def test_containers_without_docker_fall_back_to_embedded(tmp_path: Path) -> None:
    if docker_available():
        pytest.skip("a Docker engine runs here; containers would be used")
    infra = Infrastructure(tmp_path, settings=Settings(test_containers=True))
    assert infra._containers is None
    assert infra._nats is not None and infra._pg is not None
