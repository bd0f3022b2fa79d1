"""`switchyard up`: the whole platform on one machine, each part its own process.

Starts NATS (JetStream), a private PostgreSQL, optionally SeaweedFS as the
S3 store, then every service as `python -m switchyard.core.serve <name>`; when each
answers `/readyz` it writes `$SWITCHYARD_HOME/endpoints.json`. Every child
dies with `up` (even a SIGKILLed one), and `wait()` restarts any that
exits (dev/supervise.py). `stop()` takes everything down in reverse order
and removes that file; the data stays under the home for the next `up`.
The caller holds the home's lock (dev/home.py) for as long as it runs.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from switchyard.core import service_spec
from switchyard.core.config import DEFAULT_NATS_PORT, DEFAULT_POSTGRES_PORT
from switchyard.core.service_spec import ServiceSpec
from switchyard.core.tls import ClientTls, ServerTls
from switchyard.dev.home import STATE, UpState, child, ensure_token
from switchyard.dev.nats import EmbeddedNats
from switchyard.dev.ports import port_or_free
from switchyard.dev.postgres import EmbeddedPostgres
from switchyard.dev.process import ManagedProcess
from switchyard.dev.supervise import Supervisor
from switchyard.sdk.endpoints import Endpoints

if TYPE_CHECKING:
    from switchyard.dev.certs import LocalCerts
    from switchyard.dev.seaweed import EmbeddedSeaweed

DEFAULT_S3_PORT = 7642


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class Platform:
    def __init__(
        self,
        home: Path,
        *,
        host: str = "127.0.0.1",
        object_store: str = "local",
        progress: Callable[[str], None] = lambda _: None,
        services: tuple[str, ...] | None = None,
        insecure: bool = False,
        tls: bool = False,
        client_auth: bool = False,
        any_ports: bool = False,
    ) -> None:
        self.home = home.resolve()
        self.insecure = insecure  # no authentication: anyone who reaches a port may call
        # TLS everywhere from a CA of the home's own (dev/certs.py); with
        # client_auth, gRPC and NATS take only clients with its certificates
        self.tls = tls or client_auth
        self.client_auth = client_auth
        self.certs: LocalCerts | None = None
        self.any_ports = any_ports  # free ports, not the defaults: beside another platform
        # every service of the specs, in start order; a subset for benchmarks
        self.specs = (
            [service_spec.spec(n) for n in services] if services else service_spec.services()
        )
        self.host = host
        self.object_store = object_store
        self.progress = progress
        self.nats = EmbeddedNats(
            self.home / "nats", host=host, port=self._port(DEFAULT_NATS_PORT), die_with_parent=True
        )
        self.postgres = EmbeddedPostgres(
            self.home / "postgres",
            host=host,
            port=self._port(DEFAULT_POSTGRES_PORT),
            die_with_parent=True,
        )
        self.seaweed: EmbeddedSeaweed | None = None
        self.services: dict[str, ManagedProcess] = {}
        self.endpoints: Endpoints | None = None
        self.state = UpState(os.getpid(), time.time())

    def _port(self, preferred: int) -> int:
        """The documented default when free (never with `any_ports`), else any free port."""
        return port_or_free(0 if self.any_ports else preferred, self.host)

    def start(self) -> Endpoints:
        # The home holds the database, credentials and logs: its owner's only.
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.home.chmod(0o700)
        tls_env = self._ensure_tls() if self.tls else {}
        self.progress("starting NATS JetStream")
        self.nats.start()
        self.progress("starting PostgreSQL")
        self.postgres.start()
        env = {
            "SWITCHYARD_HOME": str(self.home),
            "SWITCHYARD_NATS_URL": self.nats.url,
            "SWITCHYARD_HOST": self.host,
            "SWITCHYARD_AUTH": "false" if self.insecure else "true",
            **tls_env,
        }
        if not self.insecure:
            ensure_token(self.home)  # the services and every client of this home read it
        s3: dict[str, Any] | None = None
        if self.object_store == "s3":
            s3 = self._start_seaweed()
            env.update(
                SWITCHYARD_S3_ENDPOINT=str(s3["endpoint"]),
                SWITCHYARD_S3_ACCESS_KEY=str(s3["access_key"]),
                SWITCHYARD_S3_SECRET_KEY=str(s3["secret_key"]),
            )
        http: dict[str, str] = {}
        grpc: dict[str, str] = {}
        for service in self.specs:
            self.progress(f"starting {service.name}")
            service_grpc, service_http = self._start_service(service, env)
            grpc.update(service_grpc)
            http.update(service_http)
            # Services started later may call this one before endpoints.json exists.
            if service.name in service_grpc:
                env[f"SWITCHYARD_{service.env_name}_ADDRESS"] = service_grpc[service.name]
        artifact_root = "s3://switchyard/artifacts" if s3 else (self.home / "artifacts").as_uri()
        self.endpoints = Endpoints(
            grpc=grpc,
            http=http,
            nats=self.nats.url,
            database=self.postgres.url,
            artifact_root=artifact_root,
            s3=s3,
            tls=self._client_tls(),
        )
        path = self.home / "endpoints.json"
        path.write_text(self.endpoints.to_json())
        path.chmod(0o600)  # it can hold the S3 keys
        if any(s.name == "scheduler" for s in self.specs):
            self._start_worker()
        return self.endpoints

    def _start_service(
        self, service: ServiceSpec, env: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """`switchyard serve NAME` on its default ports (or free ones); its endpoints."""
        child_env = {**os.environ, **env}
        child_env.pop("SWITCHYARD_DATABASE_URL", None)
        if service_spec.Need.DATABASE in service.needs:
            # Its own role, owning its schema only: never the superuser's URL.
            child_env["SWITCHYARD_DATABASE_URL"] = self.postgres.service_url(service.name)
        grpc_address = ""
        if service.grpc_port is not None:
            grpc_port = self._port(service.grpc_port)
            child_env["SWITCHYARD_GRPC_PORT"] = str(grpc_port)
            grpc_address = f"{self.host}:{grpc_port}"
        http_port = self._port(service.http_port)
        child_env["SWITCHYARD_HTTP_PORT"] = str(http_port)
        listeners = {}
        for listener in service.listeners:
            port = self._port(listener.port)
            child_env[f"SWITCHYARD_{listener.setting.upper()}"] = str(port)
            listeners[listener.endpoint] = listener.address(self.host, port, tls=self.tls)
        proc = ManagedProcess(
            service.name,
            [sys.executable, "-m", "switchyard.core.serve", service.name],
            self.home / "logs" / f"{service.name}.log",
            env=child_env,
            die_with_parent=True,
        )
        self.services[service.name] = proc
        ready_url = f"http://{self.host}:{http_port}/readyz"
        proc.start(lambda: http_ok(ready_url), timeout=60)
        return service.endpoint_entries(grpc_address, f"http://{self.host}:{http_port}", listeners)

    def _ensure_tls(self) -> dict[str, str]:
        """The home's CA and certificates (made on first start); the services' env."""
        from switchyard.dev.certs import ensure_certs, machine_names

        self.certs = certs = ensure_certs(self.home / "tls", machine_names(self.host))
        self.nats.tls = ServerTls(certs.server_cert, certs.server_key, certs.ca, self.client_auth)
        return {
            "SWITCHYARD_TLS_CERT": str(certs.server_cert),
            "SWITCHYARD_TLS_KEY": str(certs.server_key),
            "SWITCHYARD_TLS_CA": str(certs.ca),
            "SWITCHYARD_TLS_CLIENT_AUTH": "true" if self.client_auth else "false",
        }

    def _client_tls(self) -> dict[str, str | None] | None:
        """What clients of this home use (endpoints.json): the CA, and the client
        certificate, so that workers and the SDK pass client authentication too."""
        if self.certs is None:
            return None
        return ClientTls(self.certs.ca, self.certs.client_cert, self.certs.client_key).to_dict()

    def _start_worker(self) -> None:
        """One trainer-worker in pool `default`; it finds the platform by endpoints.json."""
        self.progress("starting a trainer-worker (pool default)")
        log = self.home / "logs" / "worker.log"
        log.unlink(missing_ok=True)  # "worker ready" must come from this start
        spec = service_spec.spec("trainer-worker")
        worker = ManagedProcess(
            "worker",
            [sys.executable, "-m", "switchyard.core.serve", spec.name],
            log,
            env={
                **os.environ,
                "SWITCHYARD_HOME": str(self.home),
                "SWITCHYARD_WORKER_POOL": "default",
                "SWITCHYARD_HTTP_PORT": str(self._port(spec.http_port)),
            },
            die_with_parent=True,
        )
        self.services["worker"] = worker
        worker.start(lambda: log.exists() and "worker ready" in log.read_text(), timeout=60)

    def _start_seaweed(self) -> dict[str, Any]:
        from switchyard.core.artifacts import ensure_bucket
        from switchyard.core.config import Settings
        from switchyard.dev.seaweed import EmbeddedSeaweed

        self.progress("starting SeaweedFS (S3)")
        seaweed = EmbeddedSeaweed(
            self.home / "s3",
            host=self.host,
            s3_port=self._port(DEFAULT_S3_PORT),
            die_with_parent=True,
        )
        self.seaweed = seaweed
        seaweed.start()
        s3 = {
            "endpoint": seaweed.endpoint,
            "access_key": seaweed.access_key,
            "secret_key": seaweed.secret_key,
            "region": None,
            "secure": False,
        }
        ensure_bucket(
            Settings(
                s3_endpoint=seaweed.endpoint,
                s3_access_key=seaweed.access_key,
                s3_secret_key=seaweed.secret_key,
            ),
            "switchyard",
        )
        return s3

    def parts(self) -> dict[str, ManagedProcess]:
        """Every child process by name: infrastructure first, then the services."""
        found = {}
        for name, part in (
            ("nats", self.nats),
            ("postgres", self.postgres),
            ("seaweedfs", self.seaweed),
        ):
            proc = part.process if part is not None else None
            if proc is not None:
                found[name] = proc
        return {**found, **self.services}

    def pids(self) -> list[int]:
        return [p.pid for p in self.parts().values() if p.pid]

    def record(self, restarted: str | None = None) -> None:
        """Write up.json: the children now, and how often each was restarted."""
        if restarted is not None:
            self.state.restarts[restarted] = self.state.restarts.get(restarted, 0) + 1
        self.state.children = {
            name: child(p.pid, p.log_path) for name, p in self.parts().items() if p.pid
        }
        self.state.write(self.home)

    def stop(self) -> None:
        (self.home / "endpoints.json").unlink(missing_ok=True)
        (self.home / STATE).unlink(missing_ok=True)
        for name in reversed(list(self.services)):
            self.services.pop(name).stop(grace=15)
        if self.seaweed is not None:
            self.seaweed.stop()
        self.nats.stop()
        self.postgres.stop()

    def wait(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Serve until interrupted or `stop()`, restarting what exits; CrashLoop ends it."""
        self.record()
        Supervisor(self.parts, report=self.progress, on_restart=self.record).run(stop=stop)
