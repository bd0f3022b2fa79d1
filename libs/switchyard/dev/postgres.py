"""A private PostgreSQL from the `pgserver` wheel's binaries.

PostgreSQL refuses to run as root; when we are root it runs as a system
user `switchyard` (created on first use) that owns the data folder.

Its doors are closed to other users of the machine: TCP connections need
a password (SCRAM), generated on first start and kept in `credentials.json`
(0600) beside the data; the Unix socket (trusted, used to administer it) is
the server user's alone. `service_url(schema)` gives each service a role of
its own that owns its schema and nothing else: no superuser, no other
service's tables, no `COPY ... FROM PROGRAM`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pwd
import secrets
import signal
import stat
import subprocess
import tempfile
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


MAX_SOCKET_PATH = 107  # sun_path on Linux, less its NUL


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
        """The superuser's URL (for the platform's owner and tools, never services)."""
        return self._url("postgres", self._password("postgres"))

    def _url(self, role: str, password: str) -> str:
        return f"postgresql://{role}:{password}@{self.host}:{self.port}/{DB_NAME}"

    @property
    def _credentials_file(self) -> Path:
        return self.data_dir / "credentials.json"

    def _password(self, role: str) -> str:
        """The role's password, generated once and kept 0600 beside the data."""
        path = self._credentials_file
        known = json.loads(path.read_text()) if path.exists() else {}
        if role not in known:
            known[role] = secrets.token_urlsafe(24)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(known))
            tmp.chmod(0o600)
            tmp.replace(path)
        return str(known[role])

    def service_url(self, schema: str) -> str:
        """A login role for one service that owns `schema` (made if missing), and its URL.

        Idempotent; a home made before roles existed has its schema's tables
        handed over to the role."""
        role = f"sy_{schema}"
        password = self._password(role)
        self._admin(
            f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
    CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
END $$;
ALTER ROLE "{role}" PASSWORD '{password}';
GRANT CONNECT ON DATABASE "{DB_NAME}" TO "{role}";
CREATE SCHEMA IF NOT EXISTS "{schema}" AUTHORIZATION "{role}";
ALTER SCHEMA "{schema}" OWNER TO "{role}";
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = '{schema}' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
             AND pg_get_userbyid(c.relowner) <> '{role}'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                             AND d.deptype IN ('a', 'i') AND c.relkind = 'S')
  LOOP
    EXECUTE format('ALTER %s %I.%I OWNER TO %I',
      CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                     WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
      '{schema}', r.relname, '{role}');
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = '{schema}' AND pg_get_userbyid(p.proowner) <> '{role}'
  LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO %I', r.fn, '{role}');
  END LOOP;
  FOR r IN SELECT s.stxname FROM pg_statistic_ext s
           JOIN pg_namespace n ON n.oid = s.stxnamespace
           WHERE n.nspname = '{schema}' AND pg_get_userbyid(s.stxowner) <> '{role}'
  LOOP
    EXECUTE format('ALTER STATISTICS %I.%I OWNER TO %I', '{schema}', r.stxname, '{role}');
  END LOOP;
END $$;
"""
        )
        return self._url(role, password)

    def _admin(self, sql: str) -> None:
        """Run `sql` as the superuser over the Unix socket."""
        argv = [_bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self._sockets)]
        argv += ["-p", str(self.port), "-U", "postgres", "-d", DB_NAME, "-c", sql]
        # As this process's user, not the server's: the socket is the server
        # user's (or root's, who may use any) and its folder's parents need no
        # traversal rights that a test runner or a user may take away.
        result = subprocess.run(argv, check=False, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL administration failed: {result.stderr.strip()}")

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
        self.data_dir.mkdir(parents=True, exist_ok=True)
        sockets = self._sockets
        sockets.mkdir(mode=0o700, parents=True, exist_ok=True)
        if sockets.parent != self.data_dir.resolve():  # the short one: ours alone
            sockets.chmod(0o700)
        superuser = self._password("postgres")
        user = _system_user()
        # Drop root's groups too, or group permission bits would lock it out.
        as_user: dict[str, object] = (
            {"user": user, "group": user, "extra_groups": []} if user else {}
        )
        if not (pgdata / "PG_VERSION").exists():
            pwfile = self.data_dir / "initdb.pw"
            pwfile.write_text(superuser)
            pwfile.chmod(0o600)
            if user:
                _let_user_in(self.data_dir, user)
            try:
                done = subprocess.run(
                    [
                        _bin("initdb"),
                        "-D",
                        str(pgdata),
                        "-U",
                        "postgres",
                        f"--pwfile={pwfile}",
                        "--auth-local=trust",
                        "--auth-host=scram-sha-256",
                        "--encoding=UTF8",
                        "--no-sync",
                    ],
                    check=False,
                    capture_output=True,
                    text=True,
                    **as_user,  # type: ignore[call-overload]
                )
            finally:
                pwfile.unlink(missing_ok=True)
            if done.returncode:  # its own words, not a traceback of ours
                said = (done.stderr or done.stdout).strip().splitlines()[-8:]
                raise RuntimeError(
                    f"initdb failed (exit {done.returncode}) in {pgdata}:\n" + "\n".join(said)
                )
        # Every start: homes made when TCP was trusted get passwords too.
        hba = pgdata / "pg_hba.conf"
        hba.write_text(
            "# Written by Switchyard at each start: the Unix socket (its server user's\n"
            "# alone) is trusted; every TCP connection needs its role's password.\n"
            "local all all trust\n"
            "host all all all scram-sha-256\n"
        )
        if user:
            _let_user_in(self.data_dir, user)
            if sockets.parent != self.data_dir.resolve():
                _let_user_in(sockets, user)
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
            "unix_socket_permissions=0700",
            "-c",
            "password_encryption=scram-sha-256",
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
        self._ensure_database()
        self._admin(f"ALTER ROLE postgres PASSWORD '{superuser}'")
        return self

    @property
    def _sockets(self) -> Path:
        """Its Unix socket's folder: in the home, unless that path is too long for a
        socket (107 bytes on Linux): then a short, private one in the temp folder."""
        inside = self.data_dir.resolve() / "sockets"
        if len(str(inside / f".s.PGSQL.{self.port}.lock").encode()) <= MAX_SOCKET_PATH:
            return inside
        digest = hashlib.sha256(str(inside).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"switchyard-pg-{digest}"

    def _accepting(self) -> bool:
        probe = [_bin("pg_isready"), "-q", "-h", self.host, "-p", str(self.port), "-U", "postgres"]
        return subprocess.run(probe, check=False).returncode == 0

    def _ensure_database(self) -> None:
        result = subprocess.run(
            [
                _bin("createdb"),
                "-h",
                str(self._sockets),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                DB_NAME,
            ],
            check=False,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise RuntimeError(f"createdb failed: {result.stderr}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.stop(grace=20)
