"""The operations HTTP port: `/livez`, `/readyz` and Prometheus `/metrics`.

A deliberately tiny HTTP/1.1 server on asyncio: Kubernetes probes and a
Prometheus scraper are its only clients, so it needs no framework. The
probes answer anyone (a kubelet carries no token); `/metrics` (RPC names,
queue names, counts) answers loopback only unless `metrics_public` is set,
as it is for a Prometheus in the cluster (deploy/kubernetes/base/config.env).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Awaitable, Callable
from types import TracebackType

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from switchyard.core import sampling

# "" when ready, else why not (the body of the 503, for whoever looks).
ReadyCheck = Callable[[], Awaitable[str]]


METRICS_REFUSED = (
    b"metrics are served to this machine only;"
    b" SWITCHYARD_METRICS_PUBLIC=true serves them to every address\n"
)


def _loopback(writer: asyncio.StreamWriter) -> bool:
    peer = writer.get_extra_info("peername")
    try:
        return bool(peer) and ipaddress.ip_address(peer[0]).is_loopback
    except ValueError:
        return False


class ProbeServer:
    def __init__(
        self, host: str, port: int, ready: ReadyCheck, *, metrics_public: bool = False
    ) -> None:
        self.host = host
        self.port = port
        self._ready = ready
        self._metrics_public = metrics_public
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ProbeServer:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            path = request.split(b" ", 2)[1].decode() if request.count(b" ") >= 2 else "/"
            path = path.split("?", 1)[0]
            if path == "/metrics" and not (self._metrics_public or _loopback(writer)):
                status, ctype, body = "403 Forbidden", "text/plain", METRICS_REFUSED
            else:
                status, ctype, body = await self._route(path)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            pass
        finally:
            writer.close()

    async def _route(self, path: str) -> tuple[str, str, bytes]:
        if path in ("/livez", "/healthz"):
            return "200 OK", "text/plain", b"ok\n"
        if path == "/readyz":
            try:
                reason = await asyncio.wait_for(self._ready(), 2)
            except Exception as exc:
                reason = f"readiness check failed: {exc!r}"
            if not reason:
                return "200 OK", "text/plain", b"ready\n"
            return "503 Service Unavailable", "text/plain", f"not ready: {reason}\n".encode()
        if path == "/metrics":
            await sampling.refresh()  # gauges read from the database, read now
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest()
        return "404 Not Found", "text/plain", b"not found\n"
