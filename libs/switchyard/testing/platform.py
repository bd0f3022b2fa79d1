"""A real platform for tests: embedded NATS and PostgreSQL, services in-process.

`Infrastructure` starts `nats-server -js` and a private PostgreSQL from the
pip wheels once (or uses `SWITCHYARD_NATS_URL` / `SWITCHYARD_DATABASE_URL`,
or testcontainers with `SWITCHYARD_TEST_CONTAINERS=1` where Docker runs).
`LocalPlatform` runs every service on a background event loop against it,
isolated by a namespace of its own (schemas, stream and subjects), and
writes `endpoints.json` so the SDK finds it as it finds `switchyard up`.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from switchyard.core import service_spec
from switchyard.core.config import TOKEN_FILE, Settings
from switchyard.core.runner import Bound, serve
from switchyard.core.service_spec import ServiceSpec
from switchyard.core.tls import ClientTls
from switchyard.dev.home import ensure_token
from switchyard.dev.nats import EmbeddedNats
from switchyard.dev.postgres import EmbeddedPostgres
from switchyard.sdk.endpoints import Endpoints
from switchyard.testing.containers import Containers, docker_available


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Infrastructure:
    """NATS + PostgreSQL for a test session; `close()` stops what it started."""

    def __init__(self, root: Path | None = None, *, settings: Settings | None = None) -> None:
        env = settings or Settings()
        self.root = root or Path(tempfile.mkdtemp(prefix="switchyard-test-"))
        self._nats = None if env.nats_url else EmbeddedNats(self.root / "nats")
        self._pg = None if env.database_url else EmbeddedPostgres(self.root / "pg", durable=False)
        self.nats_url = env.nats_url or ""
        self.database_url = env.database_url or ""
        self._containers: Containers | None = None
        if env.test_containers and not (env.nats_url or env.database_url) and docker_available():
            self._containers, self._nats, self._pg = Containers(), None, None

    def start(self) -> Infrastructure:
        if self._containers is not None:
            self._containers.start()
            self.nats_url = self._containers.nats_url
            self.database_url = self._containers.database_url
        if self._nats is not None:
            self.nats_url = self._nats.start().url
        if self._pg is not None:
            self.database_url = self._pg.start().url
        return self

    def close(self) -> None:
        if self._containers is not None:
            self._containers.stop()
        if self._nats is not None:
            self._nats.stop()
        if self._pg is not None:
            self._pg.stop()

    def __enter__(self) -> Infrastructure:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class LocalPlatform:
    """Every service on one background event loop, as one isolated platform."""

    def __init__(
        self,
        infra: Infrastructure,
        home: Path,
        *,
        namespace: str | None = None,
        services: tuple[str, ...] | None = None,
        **overrides: object,
    ) -> None:
        self.namespace = namespace or f"t{secrets.token_hex(4)}"
        self.specs: list[ServiceSpec] = (
            [service_spec.spec(n) for n in services] if services else service_spec.services()
        )
        # Extra listeners (the web edge's REST API) must know their ports
        # before they bind, since the endpoints are written from them.
        self.listener_ports = {
            listener.setting: free_port() for s in self.specs for listener in s.listeners
        }
        self.settings = Settings(
            home=home,
            namespace=self.namespace,
            database_url=infra.database_url,
            nats_url=infra.nats_url,
            grpc_port=0,
            http_port=0,
            drain_seconds=1.0,
            artifact_root=(home / "artifacts").resolve().as_uri(),
            **{**self.listener_ports, **overrides},  # type: ignore[arg-type]
        )
        if self.settings.auth:  # as `switchyard up`: an admin token in the home
            home.mkdir(parents=True, exist_ok=True)
            ensure_token(home)
        self.services = tuple(s.name for s in self.specs)
        self.bound: dict[str, Bound] = {}
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="switchyard-platform", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def endpoints(self) -> Endpoints:
        grpc: dict[str, str] = {}
        http: dict[str, str] = {}
        host = self.settings.host
        tls = ClientTls.of(self.settings)
        for spec in self.specs:
            bound = self.bound[spec.name]
            listeners = {
                listener.endpoint: listener.address(
                    host, self.listener_ports[listener.setting], tls=tls is not None
                )
                for listener in spec.listeners
            }
            service_grpc, service_http = spec.endpoint_entries(bound.grpc, bound.http, listeners)
            grpc.update(service_grpc)
            http.update(service_http)
        return Endpoints(
            grpc=grpc,
            http=http,
            nats=self.settings.nats_url,
            database=self.settings.database_url,
            namespace=self.namespace,
            artifact_root=self.settings.artifact_root,
            tls=tls.to_dict() if tls is not None else None,
        )

    def client_settings(self) -> Settings:
        """What an SDK user of this platform would have: just the home."""
        return Settings(home=self.settings.home)

    @property
    def token(self) -> str:
        """The platform's admin token (its home's `token` file)."""
        return (self.settings.home / TOKEN_FILE).read_text().strip()

    def start(self, timeout: float = 60) -> LocalPlatform:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("platform did not start")
        if self._error is not None:
            raise RuntimeError("platform failed to start") from self._error
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.settings.endpoints_file.write_text(self.endpoints.to_json())
        return self

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve_all())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve_all(self) -> None:
        self._stop = asyncio.Event()

        def ready(name: str, bound: Bound) -> None:
            self.bound[name] = bound
            if len(self.bound) == len(self.services):
                self._ready.set()

        def on_ready(name: str) -> Callable[[Bound], None]:
            return lambda bound: ready(name, bound)

        await asyncio.gather(
            *(
                serve(spec, self.settings, stop=self._stop, on_ready=on_ready(spec.name))
                for spec in self.specs
            )
        )

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(30)
        self.settings.endpoints_file.unlink(missing_ok=True)

    def __enter__(self) -> LocalPlatform:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
