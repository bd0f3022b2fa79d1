"""Transport security: TLS for gRPC, HTTP and NATS from certificate files.

A process has one identity, its certificate and key (`SWITCHYARD_TLS_CERT`,
`SWITCHYARD_TLS_KEY`): it serves with them, and shows them as its client
certificate when it calls a service or NATS, so that with client
authentication on (`SWITCHYARD_TLS_CLIENT_AUTH`) services verify one another
against the CA (`SWITCHYARD_TLS_CA`) as well as clients verify services.

    ServerTls.of(settings)   how this process serves (None: plaintext)
    ClientTls.of(settings)   how it calls others (None: plaintext)

Only paths travel (settings, endpoints.json, logs); the files are read here,
where credentials are built, and never echoed: an error names the file.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import grpc

    from switchyard.core.config import Settings


class TlsConfigError(ValueError):
    """Settings or files that cannot make a TLS server or client."""


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"cannot read the TLS {what} {path}: {exc.strerror}") from None


@dataclass(frozen=True)
class ClientTls:
    """How a client reaches TLS servers: the CA to trust and, for mutual TLS,
    the certificate and key it shows."""

    ca: Path | None = None  # None: the system's trusted roots
    cert: Path | None = None
    key: Path | None = None

    @classmethod
    def of(cls, settings: Settings) -> ClientTls | None:
        """From settings; None when they ask for no TLS."""
        if not (settings.tls or settings.tls_ca or settings.tls_cert):
            return None
        cert, key = _pair(settings)
        return cls(settings.tls_ca, cert, key)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> ClientTls | None:
        """As endpoints.json holds it (paths, never the keys themselves)."""
        if not raw:
            return None
        paths = {k: Path(raw[k]) if raw.get(k) else None for k in ("ca", "cert", "key")}
        return cls(**paths)

    def to_dict(self) -> dict[str, str | None]:
        return {k: str(v) if v else None for k, v in self.__dict__.items()}

    def grpc_credentials(self) -> grpc.ChannelCredentials:
        import grpc

        has_pair = self.cert is not None and self.key is not None
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca, "CA") if self.ca else None,
            private_key=_read(self.key, "key") if has_pair and self.key else None,
            certificate_chain=_read(self.cert, "certificate") if has_pair and self.cert else None,
        )

    def ssl_context(self) -> ssl.SSLContext:
        """For NATS and HTTPS clients: verifies the server's name and chain."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if self.ca is not None:
            context.load_verify_locations(cadata=_read(self.ca, "CA").decode())
        if self.cert is not None and self.key is not None:
            _load_pair(context, self.cert, self.key)
        return context


@dataclass(frozen=True)
class ServerTls:
    """How a server proves itself and, with `client_auth`, checks its clients."""

    cert: Path
    key: Path
    ca: Path | None = None
    client_auth: bool = False

    @classmethod
    def of(cls, settings: Settings) -> ServerTls | None:
        """From settings; None without a certificate (plaintext)."""
        cert, key = _pair(settings)
        if cert is None or key is None:
            if settings.tls_client_auth:
                raise TlsConfigError(
                    "SWITCHYARD_TLS_CLIENT_AUTH needs SWITCHYARD_TLS_CERT and _KEY"
                )
            return None
        if settings.tls_client_auth and settings.tls_ca is None:
            raise TlsConfigError("SWITCHYARD_TLS_CLIENT_AUTH needs SWITCHYARD_TLS_CA")
        return cls(cert, key, settings.tls_ca, settings.tls_client_auth)

    def grpc_credentials(self) -> grpc.ServerCredentials:
        import grpc

        return grpc.ssl_server_credentials(
            [(_read(self.key, "key"), _read(self.cert, "certificate"))],
            root_certificates=_read(self.ca, "CA") if self.ca else None,
            require_client_auth=self.client_auth,
        )

    def ssl_context(self, *, client_auth: bool | None = None) -> ssl.SSLContext:
        """For an asyncio server. `client_auth` False: an HTTP front that browsers use."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        _load_pair(context, self.cert, self.key)
        required = self.client_auth if client_auth is None else client_auth
        if self.ca is not None and required:
            context.load_verify_locations(cadata=_read(self.ca, "CA").decode())
            context.verify_mode = ssl.CERT_REQUIRED
        return context


def _pair(settings: Settings) -> tuple[Path | None, Path | None]:
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise TlsConfigError("SWITCHYARD_TLS_CERT and SWITCHYARD_TLS_KEY go together")
    return settings.tls_cert, settings.tls_key


def _load_pair(context: ssl.SSLContext, cert: Path, key: Path) -> None:
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        # ssl's own message names no file; never the key's bytes either
        raise TlsConfigError(
            f"cannot load the TLS certificate {cert} and key {key}: {exc}"
        ) from None
