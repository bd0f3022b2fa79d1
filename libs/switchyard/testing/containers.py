"""PostgreSQL and NATS through testcontainers, where a Docker engine runs.

Chosen with `SWITCHYARD_TEST_CONTAINERS=1`; without Docker the embedded
binaries are used instead, so the same tests run everywhere.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=20)
    return probe.returncode == 0


class Containers:
    """Starts `postgres:16-alpine` and `nats:2.10-alpine -js`; `stop()` removes them."""

    def __init__(self) -> None:
        self._started: list[Any] = []
        self.database_url = ""
        self.nats_url = ""

    def start(self) -> Containers:
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.waiting_utils import wait_for_logs

        try:
            from testcontainers.community.postgres import PostgresContainer
        except ImportError:
            from testcontainers.postgres import PostgresContainer

        postgres = PostgresContainer("postgres:16-alpine", dbname="switchyard", driver=None)
        self._started.append(postgres.start())
        self.database_url = postgres.get_connection_url()
        nats = DockerContainer("nats:2.10-alpine").with_command("-js").with_exposed_ports(4222)
        self._started.append(nats.start())
        wait_for_logs(nats, "Server is ready", timeout=60)
        self.nats_url = f"nats://{nats.get_container_host_ip()}:{nats.get_exposed_port(4222)}"
        return self

    def stop(self) -> None:
        while self._started:
            self._started.pop().stop()
