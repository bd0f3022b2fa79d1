"""A local certificate authority for `switchyard up --tls`.

In `$SWITCHYARD_HOME/tls/`: a CA (EC P-256, 10 years), a server certificate
for this machine's names (localhost, 127.0.0.1, ::1, the hostname; 1 year)
that the services, the web edge and NATS serve with and that services show
as their client certificate to one another, and a client certificate for
workers and the SDK (1 year). Keys are 0600. A later start reuses them and
makes again only what is missing, near expiry (30 days), not signed by the
CA, or missing a name. `cryptography` is imported here only, so a plain
`up` never loads it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 365
RENEW_BEFORE = dt.timedelta(days=30)
CLIENT_NAME = "switchyard-client"


@dataclass(frozen=True)
class LocalCerts:
    """The files of one home's CA; `*_key` files are the owner's only."""

    folder: Path

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server.key"

    @property
    def client_cert(self) -> Path:
        return self.folder / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.folder / "client.key"


def machine_names(host: str = "127.0.0.1") -> list[str]:
    """What a server certificate of this machine is valid for."""
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname()]
    if host not in ("0.0.0.0", "::") and host not in names:
        names.append(host)
    return names


def ensure_certs(folder: Path, names: Sequence[str] | None = None) -> LocalCerts:
    """The home's CA and certificates, made or renewed where needed."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    files = LocalCerts(folder)
    ca, ca_key, renewed = _ensure_ca(files)
    server_names = list(names or machine_names())
    _ensure_leaf(files, "server", ca, ca_key, server_names, server=True, force=renewed)
    _ensure_leaf(files, "client", ca, ca_key, [CLIENT_NAME], server=False, force=renewed)
    return files


def _ensure_ca(files: LocalCerts) -> tuple[x509.Certificate, Any, bool]:
    found = _load(files.ca, files.ca_key)
    if found is not None and _fresh(found[0]):
        return found[0], found[1], False
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Switchyard local CA")])
    builder = (
        _builder(name, name, key.public_key(), CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    cert = builder.sign(key, hashes.SHA256())
    _write(files.ca_key, files.ca, key, cert)
    return cert, key, True


def _ensure_leaf(
    files: LocalCerts,
    role: str,
    ca: x509.Certificate,
    ca_key: Any,
    names: Sequence[str],
    *,
    server: bool,
    force: bool,
) -> None:
    cert_path, key_path = files.path(f"{role}.pem"), files.path(f"{role}.key")
    found = None if force else _load(cert_path, key_path)
    if found is not None and _fresh(found[0]) and _signed_by(found[0], ca):
        if set(_names(found[0])) >= set(names):
            return
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    # A server certificate serves clients as well: services show it to each other.
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if server:
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    cert = (
        _builder(subject, ca.subject, key.public_key(), LEAF_DAYS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([_general(n) for n in names]), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(key_path, cert_path, key, cert)


def _builder(subject: x509.Name, issuer: x509.Name, public: Any, days: int) -> Any:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # a clock a little behind
        .not_valid_after(now + dt.timedelta(days=days))
    )


def _general(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return [*san.get_values_for_type(x509.DNSName), *ips]


def _fresh(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > RENEW_BEFORE


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except Exception:  # another issuer, a bad signature (InvalidSignature), another key type
        return False
    return True


def _load(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, Any] | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    return cert, key


def _write(key_path: Path, cert_path: Path, key: Any, cert: x509.Certificate) -> None:
    """The key 0600 from its first byte (never readable by others, even briefly)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = key_path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    tmp.replace(key_path)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
