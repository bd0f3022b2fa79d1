"""The local CA of `switchyard up --tls` (dev/certs.py) and TLS settings (core/tls.py)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from switchyard.core.config import Settings
from switchyard.core.tls import ClientTls, ServerTls, TlsConfigError
from switchyard.dev import certs
from switchyard.dev.certs import ensure_certs, machine_names


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return (
        san.get_values_for_type(x509.DNSName),
        [str(ip) for ip in san.get_values_for_type(x509.IPAddress)],
    )


def _days_left(cert: x509.Certificate) -> float:
    return (cert.not_valid_after_utc - dt.datetime.now(dt.UTC)) / dt.timedelta(days=1)


def test_a_ca_and_certificates_for_this_machine(tmp_path: Path) -> None:
    files = ensure_certs(tmp_path / "tls")
    ca, server, client = _cert(files.ca), _cert(files.server_cert), _cert(files.client_cert)

    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert 3640 < _days_left(ca) <= 3650
    for leaf in (server, client):
        leaf.verify_directly_issued_by(ca)
        assert 360 < _days_left(leaf) <= 365
        assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    dns, ips = _sans(server)
    assert {"localhost", *machine_names()[3:]} <= set(dns)
    assert {"127.0.0.1", "::1"} <= set(ips)
    assert all(ipaddress.ip_address(ip) for ip in ips)
    usages = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    # services show the server certificate to each other as clients
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usages)
    assert list(client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]


def test_keys_are_the_owners_only(tmp_path: Path) -> None:
    files = ensure_certs(tmp_path / "tls")
    for key in (files.ca_key, files.server_key, files.client_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.folder.stat().st_mode) == 0o700
    assert not list(files.folder.glob("*.tmp"))


def test_a_later_start_reuses_them(tmp_path: Path) -> None:
    first = ensure_certs(tmp_path / "tls")
    before = {p.name: p.read_bytes() for p in first.folder.iterdir()}
    again = ensure_certs(tmp_path / "tls")
    assert {p.name: p.read_bytes() for p in again.folder.iterdir()} == before


def test_a_certificate_near_expiry_or_missing_a_name_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = ensure_certs(tmp_path / "tls")
    ca, server, client = (p.read_bytes() for p in (files.ca, files.server_cert, files.client_cert))

    monkeypatch.setattr(certs, "RENEW_BEFORE", dt.timedelta(days=400))  # leaves: near expiry
    ensure_certs(tmp_path / "tls")
    assert files.ca.read_bytes() == ca  # 10 years: still fresh
    assert files.server_cert.read_bytes() != server
    assert files.client_cert.read_bytes() != client
    monkeypatch.undo()

    server = files.server_cert.read_bytes()
    ensure_certs(tmp_path / "tls", [*machine_names(), "sy.example.test"])
    assert files.server_cert.read_bytes() != server
    assert "sy.example.test" in _sans(_cert(files.server_cert))[0]


def test_a_new_ca_makes_new_certificates(tmp_path: Path) -> None:
    files = ensure_certs(tmp_path / "tls")
    files.ca.unlink()
    ensure_certs(tmp_path / "tls")
    ca = _cert(files.ca)
    _cert(files.server_cert).verify_directly_issued_by(ca)
    _cert(files.client_cert).verify_directly_issued_by(ca)


def test_tls_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = ensure_certs(tmp_path / "tls")
    assert ClientTls.of(Settings()) is None and ServerTls.of(Settings()) is None
    assert ClientTls.of(Settings(tls=True)) == ClientTls()
    monkeypatch.setenv("SWITCHYARD_TLS_CA_FILE", str(files.ca))  # the older name still works
    assert ClientTls.of(Settings()) == ClientTls(files.ca)
    monkeypatch.delenv("SWITCHYARD_TLS_CA_FILE")
    monkeypatch.setenv("SWITCHYARD_TLS_CERT", str(files.server_cert))
    monkeypatch.setenv("SWITCHYARD_TLS_KEY", str(files.server_key))
    monkeypatch.setenv("SWITCHYARD_TLS_CA", str(files.ca))
    monkeypatch.setenv("SWITCHYARD_TLS_CLIENT_AUTH", "true")
    settings = Settings()
    assert ServerTls.of(settings) == ServerTls(files.server_cert, files.server_key, files.ca, True)
    assert ClientTls.of(settings) == ClientTls(files.ca, files.server_cert, files.server_key)
    tls = ClientTls.of(settings)
    assert tls is not None and ClientTls.from_dict(tls.to_dict()) == tls
    with pytest.raises(TlsConfigError, match="go together"):
        ServerTls.of(settings.model_copy(update={"tls_key": None}))
    with pytest.raises(TlsConfigError, match="needs SWITCHYARD_TLS_CA"):
        ServerTls.of(settings.model_copy(update={"tls_ca": None}))


def test_a_bad_key_file_is_named_never_shown(tmp_path: Path) -> None:
    files = ensure_certs(tmp_path / "tls")
    tls = ServerTls(files.server_cert, files.client_key)  # the wrong key for it
    with pytest.raises(TlsConfigError) as caught:
        tls.ssl_context()
    assert str(files.client_key) in str(caught.value)
    key_body = files.client_key.read_text().splitlines()[1]
    assert key_body not in str(caught.value) and "PRIVATE KEY" not in str(caught.value)
