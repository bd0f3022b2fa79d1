"""Transport security against real servers: gRPC (TLS and mutual TLS), HTTPS, NATS over TLS.

One platform (tracking and the web edge) serves with a certificate of a CA
this module makes and asks every gRPC and NATS client for one of its
certificates; its NATS takes TLS only, with client certificates too. A
second CA, which signed nothing the platform trusts, plays the impostor.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import switchyard as sy
from switchyard.core.bus import Bus
from switchyard.core.config import Settings
from switchyard.core.tls import ClientTls, ServerTls
from switchyard.dev.certs import LocalCerts, ensure_certs
from switchyard.dev.nats import EmbeddedNats
from switchyard.errors import Unavailable
from switchyard.testing.platform import Infrastructure, LocalPlatform


@dataclass
class _Infra:  # what LocalPlatform takes from an Infrastructure
    nats_url: str
    database_url: str


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCerts:
    return ensure_certs(tmp_path_factory.mktemp("ca") / "tls")


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCerts:
    return ensure_certs(tmp_path_factory.mktemp("other-ca") / "tls")


@pytest.fixture(scope="module")
def tls_nats(ca: LocalCerts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    mutual = ServerTls(ca.server_cert, ca.server_key, ca.ca, client_auth=True)
    nats = EmbeddedNats(tmp_path_factory.mktemp("nats"), tls=mutual).start()
    yield nats
    nats.stop()


@pytest.fixture(scope="module")
def platform(
    switchyard_infra: Infrastructure,
    tls_nats: EmbeddedNats,
    ca: LocalCerts,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalPlatform]:
    infra = _Infra(tls_nats.url, switchyard_infra.database_url)
    with LocalPlatform(
        infra,  # type: ignore[arg-type]
        tmp_path_factory.mktemp("home"),
        services=("tracking", "web"),
        tls_cert=ca.server_cert,
        tls_key=ca.server_key,
        tls_ca=ca.ca,
        tls_client_auth=True,
    ) as platform:
        yield platform


def _client_settings(platform: LocalPlatform, **tls: object) -> Settings:
    """A user of the platform's home with TLS settings of their own (they win
    over what endpoints.json says), and the platform's token."""
    return Settings(home=platform.settings.home, token=platform.token, **tls)  # type: ignore[arg-type]


def _no_secrets(message: str, platform: LocalPlatform, ca: LocalCerts) -> None:
    for key in (ca.server_key, ca.client_key, ca.ca_key):
        body = "".join(key.read_text().splitlines()[1:-1])
        assert body[:40] not in message.replace("\n", "")
    assert "PRIVATE KEY" not in message
    assert platform.token not in message


def test_the_platforms_home_gives_clients_tls(platform: LocalPlatform, ca: LocalCerts) -> None:
    """endpoints.json carries the CA and a certificate: a user of the home needs nothing."""
    with sy.Client(settings=platform.client_settings()) as client:
        assert client.transport.tls == ClientTls(ca.ca, ca.server_cert, ca.server_key)
        assert client.whoami().role == "admin"  # bearer tokens still checked over TLS
        assert client.create_experiment(f"tls-{uuid.uuid4().hex[:8]}")


def test_a_client_certificate_of_the_ca_passes_mutual_tls(
    platform: LocalPlatform, ca: LocalCerts
) -> None:
    settings = _client_settings(
        platform, tls_ca=ca.ca, tls_cert=ca.client_cert, tls_key=ca.client_key
    )
    with sy.Client(settings=settings) as client:
        assert client.whoami().role == "admin"


def test_a_client_without_a_certificate_is_refused(platform: LocalPlatform, ca: LocalCerts) -> None:
    with sy.Client(settings=_client_settings(platform, tls_ca=ca.ca)) as client:
        with pytest.raises(Unavailable) as refused:
            client.whoami()
    _no_secrets(str(refused.value), platform, ca)


def test_a_client_with_another_ca_is_refused(
    platform: LocalPlatform, ca: LocalCerts, other_ca: LocalCerts
) -> None:
    """It cannot trust the server: the handshake fails on its side, with no secret shown."""
    settings = _client_settings(
        platform, tls_ca=other_ca.ca, tls_cert=other_ca.client_cert, tls_key=other_ca.client_key
    )
    with sy.Client(settings=settings) as client:
        with pytest.raises(Unavailable) as refused:
            client.whoami()
    message = str(refused.value)
    assert "CERTIFICATE_VERIFY_FAILED" in message and "SWITCHYARD_TLS_CA" in message
    _no_secrets(message, platform, ca)
    _no_secrets(message, platform, other_ca)


def test_a_plaintext_client_is_refused(platform: LocalPlatform, ca: LocalCerts) -> None:
    with sy.Client(settings=_client_settings(platform)) as client:
        client.transport.tls = None  # as a client that ignores endpoints.json's TLS
        with pytest.raises(Unavailable):
            client.whoami()


def test_events_travel_over_nats_with_tls(platform: LocalPlatform, ca: LocalCerts) -> None:
    """The service publishes through its outbox to a TLS-only NATS; the SDK subscribes
    with the home's certificate."""
    assert platform.endpoints.nats and platform.endpoints.nats.startswith("tls://")
    settings = platform.client_settings()
    name = f"tls-{uuid.uuid4().hex[:8]}"
    seen = []
    with sy.Client(settings=settings) as client:
        stream = sy.events("sy.tracking.experiment.created", timeout=10, settings=settings)
        experiment = client.create_experiment(name)
        for event in stream:
            seen.append(event.subject)
            if event.subject == experiment:
                break
    assert experiment in seen


async def test_nats_refuses_a_client_without_the_cas_certificate(
    tls_nats: EmbeddedNats, ca: LocalCerts, other_ca: LocalCerts
) -> None:
    async with Bus(tls_nats.url, tls=ClientTls(ca.ca, ca.client_cert, ca.client_key)) as bus:
        assert bus.connected
    for tls in (ClientTls(ca.ca), ClientTls(ca.ca, other_ca.client_cert, other_ca.client_key)):
        bus = Bus(tls_nats.url, tls=tls)
        with pytest.raises(Exception):  # noqa: B017 - nats-py's own (a reset or a timeout)
            await asyncio.wait_for(_open_once(bus), 10)
        await bus.close()


async def _open_once(bus: Bus) -> None:
    import nats

    # Bus.open retries for ever (a service waits for NATS); one try is what we ask here.
    bus._nc = await nats.connect(
        bus.url,
        tls=bus.tls.ssl_context() if bus.tls else None,
        allow_reconnect=False,
        max_reconnect_attempts=0,
        connect_timeout=3,
    )


def _get(url: str, context: ssl.SSLContext | None = None) -> str:
    with urllib.request.urlopen(url, timeout=10, context=context) as reply:
        return str(reply.read().decode())


def test_the_web_edge_answers_over_https(platform: LocalPlatform, ca: LocalCerts) -> None:
    url = platform.endpoints.http["web"]
    assert url.startswith("https://")
    assert _get(f"{url}/health", ssl.create_default_context(cafile=str(ca.ca))) == "OK"
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        _get(f"{url}/health")  # the system's roots do not know this CA
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        _get(url.replace("https://", "http://") + "/health")


def test_tls_without_client_authentication(
    switchyard_infra: Infrastructure, ca: LocalCerts, tmp_path: Path
) -> None:
    """Server TLS only: a client with the CA alone gets in; without it, not."""
    with LocalPlatform(
        switchyard_infra,
        tmp_path / "home",
        services=("tracking",),
        tls_cert=ca.server_cert,
        tls_key=ca.server_key,
        tls_ca=ca.ca,
    ) as platform:
        with sy.Client(settings=_client_settings(platform, tls_ca=ca.ca)) as client:
            assert client.whoami().role == "admin"
        started = time.monotonic()
        with sy.Client(settings=_client_settings(platform, tls=True)) as client:
            with pytest.raises(Unavailable):
                client.whoami()
        assert time.monotonic() - started < 20


def test_the_mlflow_client_over_https_with_the_ca(
    platform: LocalPlatform, ca: LocalCerts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `eval "$(switchyard env)"` sets it up: the web edge verifies the token and
    calls tracking over mutual TLS."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", platform.token)
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(ca.ca))
    client = mlflow.MlflowClient(platform.endpoints.http["web"])
    name = f"tls-mlflow-{uuid.uuid4().hex[:8]}"
    experiment = client.create_experiment(name)
    assert client.get_experiment(experiment).name == name
