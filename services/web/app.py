"""The web edge's ASGI app and the HTTP server that runs it in the service's loop.

    /api/2.0/mlflow/...                 MLflow's tracking (and registry) REST API
    /ajax-api/2.0/mlflow/...            the same, where MLflow's UI looks
    /api/2.0/mlflow-artifacts/...       the proxied artifact API
    /health, /version                   as `mlflow server` answers them
    /, /experiments, /models, ...       the web UI (ui/), with /static and /ui/live
    anything else                       404: JSON ENDPOINT_NOT_FOUND under the APIs,
                                        the UI's 404 page elsewhere

`HttpServer` is an async context manager around uvicorn that leaves signals
to the runner; asyncio sets TCP_NODELAY on every accepted socket (the
listening socket must say it is TCP), so a kept-alive connection answers
without a Nagle stall.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator, Sequence
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from switchyard.core.auth import Verifier
from switchyard.core.tls import ServerTls
from switchyard.services.web import (
    artifacts,
    auth,
    errors,
    experiments,
    logged_models,
    metrics,
    registry,
    runs,
)
from switchyard.services.web.backends import Backends
from switchyard.services.web.read_timeouts import TimedHttpToolsProtocol
from switchyard.services.web.ui import live
from switchyard.services.web.ui import routes as ui_routes

# The MLflow version whose REST API this edge speaks (`GET /version`).
MLFLOW_API_VERSION = "3.17.2"


def mlflow_routes() -> list[BaseRoute]:
    return [
        *experiments.ROUTES,
        *runs.ROUTES,
        *metrics.ROUTES,
        *artifacts.TRACKING_ROUTES,
        *logged_models.ROUTES,
        *registry.ROUTES,
    ]


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


async def version(request: Request) -> Response:
    return PlainTextResponse(MLFLOW_API_VERSION)


def build_app(
    backends: Backends, extra: Sequence[BaseRoute] = (), verifier: Verifier | None = None
) -> Starlette:
    """`verifier`: every request but the open ones needs a token (None: none does)."""
    api = mlflow_routes() + list(extra)
    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/version", version),
            *auth.routes(),
            Mount("/api/2.0/mlflow-artifacts", routes=artifacts.PROXY_ROUTES),
            Mount("/api/2.0/mlflow", routes=api),
            Mount("/ajax-api/2.0/mlflow", routes=api),
            *ui_routes(),
        ],
        exception_handlers={HTTPException: errors.on_http_error},
    )
    app.state.backends = backends
    app.state.verifier = verifier
    if verifier is not None:
        app.add_middleware(auth.AuthMiddleware, verifier=verifier)
    app.state.live = live.hub_for(backends.settings)  # opens NATS when a page listens
    return app


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the runner owns SIGTERM/SIGINT


class HttpServer:
    """Serves `app` on host:port (0: any free port) until closed; `.url` once open."""

    def __init__(self, app: Starlette, host: str, port: int, tls: ServerTls | None = None) -> None:
        """`tls`: HTTPS with the process's certificate. No client certificate is
        asked for: browsers and MLflow clients come with tokens, not certificates."""
        self.host = host
        self.port = port
        self.tls = tls
        ssl = {"ssl_certfile": str(tls.cert), "ssl_keyfile": str(tls.key)} if tls else {}
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            server_header=False,
            http=TimedHttpToolsProtocol,  # a slow or stalled request is closed
            **ssl,  # type: ignore[arg-type]
        )
        self._server = _Server(config)
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def __aenter__(self) -> HttpServer:
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say
        # they are TCP, and accepted sockets inherit it. Without it every kept-alive
        # response stalls ~40 ms (Nagle against delayed ACK).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        self._socket = sock
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="web-http")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()
