"""`switchyard up --mtls` as a user runs it: TLS everywhere from the home's own CA,
and the SDK, the CLI and the worker of the same home work unchanged."""

from __future__ import annotations

import json
import ssl
import stat
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.sdk import fluent
from switchyard.testing.up import UpProcess, home_cli

pytestmark = pytest.mark.e2e


_cli = home_cli


def test_up_with_mutual_tls_serves_its_home_and_reuses_its_ca(tmp_path: Path) -> None:
    home = tmp_path / "home"
    tls = home / "tls"
    started = time.monotonic()
    with UpProcess(home, "--mtls", "--any-ports") as up:
        took = time.monotonic() - started
        endpoints = json.loads((home / "endpoints.json").read_text())
        assert endpoints["tls"] == {
            "ca": str(tls / "ca.pem"),
            "cert": str(tls / "client.pem"),
            "key": str(tls / "client.key"),
        }
        assert endpoints["nats"].startswith("tls://")
        assert endpoints["http"]["web"].startswith("https://")
        assert "TLS on" in up.output() and str(tls / "ca.pem") in up.output()
        for key in ("ca.key", "server.key", "client.key"):
            assert stat.S_IMODE((tls / key).stat().st_mode) == 0o600

        whoami = _cli(home, "whoami")
        assert whoami.returncode == 0, whoami.stdout + whoami.stderr
        assert "admin" in whoami.stdout
        with sy.Client(settings=Settings(home=home)) as client:
            experiment = client.create_experiment("over-tls")
            assert client.get_experiment(experiment)
            # the worker pulled nothing yet, but it reached the scheduler and NATS
            assert "worker ready" in (home / "logs" / "worker.log").read_text()
        trusting = ssl.create_default_context(cafile=str(tls / "ca.pem"))
        with urllib.request.urlopen(
            f"{endpoints['http']['web']}/health", context=trusting, timeout=10
        ) as reply:
            assert reply.read() == b"OK"
        _serve_a_model(home, trusting)
        status = _cli(home, "status")
        assert status.returncode == 0 and "not ready" not in status.stdout, status.stdout
        env = _cli(home, "env").stdout
        assert f"MLFLOW_TRACKING_SERVER_CERT_PATH={tls / 'ca.pem'}" in env
        ca = (tls / "ca.pem").read_bytes()
    # on a machine with two cores the whole platform starts in about 10 s
    assert took < 60

    with UpProcess(home, "--tls", "--any-ports"):  # a later start: the same CA
        assert (tls / "ca.pem").read_bytes() == ca
        with sy.Client(settings=Settings(home=home)) as client:
            assert client.whoami().role == "admin"


def _serve_a_model(home: Path, trusting: ssl.SSLContext) -> None:
    """A replica (a job of up's worker) registers with the gateway over mutual TLS;
    predictions come back over OIP gRPC (TLS) and REST (HTTPS)."""
    settings = Settings(home=home)
    fluent.reset(settings)
    try:
        name = f"tls-{uuid.uuid4().hex[:8]}"
        with sy.start_run():
            sy.log_model(_double, "m", registered_model_name=name, flavor="python_function")
        deployment = sy.deploy(f"models:/{name}/1", name, settings=settings)
        deployment.wait_ready(timeout=90)
        rows = np.arange(6.0).reshape(3, 2)
        np.testing.assert_allclose(sy.predict(name, rows, settings=settings), rows * 2)
        assert deployment.url and deployment.url.startswith("https://")
        with urllib.request.urlopen(deployment.url, context=trusting, timeout=10) as reply:
            assert json.loads(reply.read())["name"] == name
    finally:
        fluent.reset()


def _double(x: object) -> object:
    return np.asarray(x) * 2
