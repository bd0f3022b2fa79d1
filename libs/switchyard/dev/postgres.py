"""A private PostgreSQL from the `pgserver` wheel's binaries.

PostgreSQL refuses to run as root; when we are root it runs as a system
user `switchyard` (created on first use) that owns the data folder.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import signal
import stat
import subprocess
from pathlib import Path

from switchyard.dev.ports import port_or_free
from switchyard.dev.process import ManagedProcess

DB_NAME = "switchyard"
SYSTEM_USER = "switchyard"


def _bin(name: str) -> str:
    # Located without importing pgserver, whose import has side effects.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the pgserver wheel is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name)


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


def _let_user_in(path: Path, user: str) -> None:
    """Own `path` and make its parents traversable (temp folders are 0700)."""
    entry = pwd.getpwnam(user)
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    os.chown(path, entry.pw_uid, entry.pw_gid)


class EmbeddedPostgres:
    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        durable: bool = True,
        die_with_parent: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.die_with_parent = die_with_parent
        self.host = host
        self.port = port
        self.durable = durable
        self._proc: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{DB_NAME}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def process(self) -> ManagedProcess | None:
        return self._proc

    def start(self, timeout: float = 30) -> EmbeddedPostgres:
        if self._proc is not None:
            return self
        self.port = port_or_free(self.port, self.host)
        pgdata = self.data_dir / "pgdata"
        sockets = self.data_dir / "sockets"
        sockets.mkdir(parents=True, exist_ok=True)
        user = _system_user()
        # Drop root's groups too, or group permission bits would lock it out.
        as_user: dict[str, object] = (
            {"user": user, "group": user, "extra_groups": []} if user else {}
        )
        if user:
            _let_user_in(self.data_dir, user)
        if not (pgdata / "PG_VERSION").exists():
            subprocess.run(
                [
                    _bin("initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
                check=False,
                capture_output=True,
                text=True,
                **as_user,  # type: ignore[call-overload]
            ).check_returncode()
        argv = [
            _bin("postgres"),
            "-D",
            str(pgdata),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-k",
            str(sockets),
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=128MB",
        ]
        if not self.durable:  # tests: the data dies with the session anyway
            argv += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        self._proc = ManagedProcess(
            "postgres",
            argv,
            self.data_dir / "postgres.log",
            stop_signal=signal.SIGINT,  # a fast shutdown: don't wait for clients
            die_with_parent=self.die_with_parent,
            **as_user,
        )
        self._proc.start(self._accepting, timeout)
        self._ensure_database(as_user)
        return self

    def _accepting(self) -> bool:
        probe = [_bin("pg_isready"), "-q", "-h", self.host, "-p", str(self.port), "-U", "postgres"]
        return subprocess.run(probe, check=False).returncode == 0

    def _ensure_database(self, as_user: dict[str, object]) -> None:
        result = subprocess.run(
            [_bin("createdb"), "-h", self.host, "-p", str(self.port), "-U", "postgres", DB_NAME],
            check=False,
            capture_output=True,
            text=True,
            **as_user,  # type: ignore[call-overload]
        )
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise RuntimeError(f"createdb failed: {result.stderr}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.stop(grace=20)
