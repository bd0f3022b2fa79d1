"""Builds the web edge from settings; the shared runner runs it.

The runner's gRPC server serves only health here; the edge's work is the
MLflow-compatible REST API on `settings.web_port` (default: the spec's
listener, 7600; 0 when the test harness asks for free ports).
"""

from __future__ import annotations

import logging

from switchyard.core.config import Settings
from switchyard.core.runner import Runtime, run
from switchyard.core.tls import ServerTls
from switchyard.services.web.app import HttpServer, build_app
from switchyard.services.web.backends import Backends
from switchyard.services.web.spec import SPEC

log = logging.getLogger(__name__)


def rest_port(settings: Settings) -> int:
    if settings.web_port is not None:
        return settings.web_port
    return 0 if settings.http_port == 0 else SPEC.listeners[0].port


async def setup(runtime: Runtime) -> None:
    backends = Backends(runtime.settings)
    runtime.stack.push_async_callback(backends.close)
    app = build_app(backends, verifier=runtime.verifier)
    settings = runtime.settings
    server = HttpServer(app, settings.host, rest_port(settings), ServerTls.of(settings))
    await runtime.stack.enter_async_context(server)
    # closed before the server: it ends the pages' event streams, which the
    # server's stop would otherwise wait on
    runtime.stack.push_async_callback(app.state.live.close)
    log.info("web UI and MLflow REST API listening", extra={"url": server.url})


def main(settings: Settings | None = None) -> None:
    run(SPEC, settings)


if __name__ == "__main__":
    main()
