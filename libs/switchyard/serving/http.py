"""A lean HTTP/1.1 server: asyncio.Protocol + httptools, one handler coroutine per request.

    server = await serve_http(handler, "127.0.0.1", 0)   # handler(Request) -> Response

Why not an ASGI server: the replica and the gateway answer small requests at
thousands per second on two cores, where a framework's per-request cost (scope
dicts, receive/send callables, middleware) is most of the time. This keeps what
OIP needs: keep-alive, pipelining (answered in order), Content-Length and
chunked request bodies, 413 past `max_body`, 400 then close on a parse error,
`Connection: close`. Responses always carry Content-Length (never chunked).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import ssl as ssl_module
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

import httptools

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"


Handler = Callable[[Request], Awaitable[Response]]

_STATUS_LINES = {
    s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode("latin-1") for s in HTTPStatus
}
_PAUSE_AT = 64  # pipelined requests queued on one connection before reading pauses
HEADER_TIMEOUT_S = 10.0  # a request's headers, from its first byte (or the connection)
BODY_IDLE_S = 30.0  # the longest quiet spell inside a request's body
KEEP_ALIVE_S = 75.0  # an idle kept-alive connection (nginx's default)
SWEEP_EVERY_S = 1.0


class _TooLarge(Exception):
    pass


def _encode(response: Response, keep_alive: bool) -> bytes:
    head = _STATUS_LINES.get(response.status) or f"HTTP/1.1 {response.status} \r\n".encode()
    lines = [head]
    if response.content_type:
        lines.append(f"content-type: {response.content_type}\r\n".encode("latin-1"))
    for name, value in response.headers:
        lines.append(f"{name}: {value}\r\n".encode("latin-1"))
    lines.append(f"content-length: {len(response.body)}\r\n".encode("latin-1"))
    if not keep_alive:
        lines.append(b"connection: close\r\n")
    lines.append(b"\r\n")
    lines.append(response.body)
    return b"".join(lines)


def _error(status: int, message: str) -> Response:
    return Response(status, json.dumps({"error": message}).encode())


class _Connection(asyncio.Protocol):
    """One client connection: parses requests, runs them one at a time, in order."""

    def __init__(self, handler: Handler, max_body: int, live: set[_Connection]) -> None:
        self._handler = handler
        self._live = live
        # When it is closed unless it moves on (loop time): a request's headers and body
        # must keep coming, and an idle kept-alive connection goes after a while. The
        # server's sweep checks it each second; no timer per request on the hot path.
        self.deadline = math.inf
        self._max_body = max_body
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        # The request being parsed.
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._size = 0
        # Parsed requests waiting for the one in progress: (request | error response, keep-alive)
        self._queue: deque[tuple[Request | Response, bool]] = deque()
        self._busy = False
        self._closing = False  # no more requests are read: answer what is queued, then close
        self._paused = False
        self._task: asyncio.Future[None] | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        self._live.add(self)
        self.deadline = self._loop.time() + HEADER_TIMEOUT_S
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Small responses must leave at once, not wait for Nagle's timer.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self._live.discard(self)
        self._closing = True
        self._queue.clear()
        self._transport = None
        if self._task is not None and not self._task.done():
            self._task.cancel()  # nobody is left to read its answer

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(_error(400, "protocol upgrades are not supported"))
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _TooLarge):
                self._fail(_error(413, f"request body larger than {self._max_body} bytes"))
            else:
                raise
        except httptools.HttpParserError as exc:
            self._fail(_error(400, f"malformed HTTP request: {exc}"))

    def eof_received(self) -> bool | None:
        self._closing = True
        if not self._busy and self._transport is not None:
            self._transport.close()
        return True  # half-close: finish answering what was already asked

    def pause_writing(self) -> None:
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None and not self._paused:
            self._transport.resume_reading()

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        self.deadline = self._loop.time() + HEADER_TIMEOUT_S
        self._url = b""
        self._headers = {}
        self._body = []
        self._size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.deadline = self._loop.time() + BODY_IDLE_S
        length = self._headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self._max_body:
            raise _TooLarge
        if (
            self._headers.get("expect", "").lower() == "100-continue"
            and not self._busy
            and self._transport is not None
        ):
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self.deadline = self._loop.time() + BODY_IDLE_S
        self._size += len(body)
        if self._size > self._max_body:
            raise _TooLarge
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.deadline = math.inf  # answering it is the handler's time, not the client's
        url = self._url.decode("latin-1")
        path, _, query = url.partition("?")
        method = self._parser.get_method().decode("latin-1")
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        request = Request(method, path, query, self._headers, body)
        self._submit(request, bool(self._parser.should_keep_alive()))

    # -- running requests
    def _fail(self, response: Response) -> None:
        self._submit(response, False)

    def _submit(self, item: Request | Response, keep_alive: bool) -> None:
        if not keep_alive:
            self._closing = True  # whatever follows on this connection is not read
        if self._busy:
            self._queue.append((item, keep_alive))
            if len(self._queue) >= _PAUSE_AT and not self._paused and self._transport:
                self._paused = True
                self._transport.pause_reading()
            return
        self._busy = True
        self._start(item, keep_alive)

    def _start(self, item: Request | Response, keep_alive: bool) -> None:
        # One task per run of requests (not per request): it answers the queue in order.
        # Running the handler eagerly without a task was measured too (~1 us of ~13 us of
        # server CPU per request, within the noise), and dropped for plain asyncio semantics.
        self._task = self._loop.create_task(self._run(item, keep_alive))

    async def _run(self, item: Request | Response, keep_alive: bool) -> None:
        while True:
            if isinstance(item, Response):
                response = item
            else:
                try:
                    response = await self._handler(item)
                except Exception as exc:
                    response = self._crashed(exc)
            self._send(response, keep_alive)
            nxt = self._next()
            if nxt is None:
                return
            item, keep_alive = nxt

    def _next(self) -> tuple[Request | Response, bool] | None:
        if self._queue and self._transport is not None:
            item = self._queue.popleft()
            if self._paused and not self._queue:
                self._paused = False
                self._transport.resume_reading()
            return item
        self._busy = False
        if self._closing and self._transport is not None:
            self._transport.close()
        elif self.deadline == math.inf:  # idle, kept alive: not for ever
            self.deadline = self._loop.time() + KEEP_ALIVE_S
        return None

    def _send(self, response: Response, keep_alive: bool) -> None:
        if self._transport is None:
            return
        self._transport.write(_encode(response, keep_alive))
        if not keep_alive:
            self._closing = True
            self._queue.clear()
            self._transport.close()
            self._transport = None

    def expire(self) -> None:
        """Too slow (or idle too long): close it without an answer, as nginx does."""
        self.deadline = math.inf
        if self._transport is not None:
            self._closing = True
            self._transport.close()

    @staticmethod
    def _crashed(exc: BaseException) -> Response:
        log.exception("request handler failed", exc_info=exc)
        return _error(500, f"internal error: {type(exc).__name__}")


async def serve_http(
    handler: Handler,
    host: str,
    port: int,
    *,
    max_body: int = 64 << 20,
    ssl: ssl_module.SSLContext | None = None,
) -> asyncio.Server:
    """Listen on host:port (0 = a free port; see `server.sockets[0].getsockname()`);
    HTTPS with `ssl`."""
    loop = asyncio.get_running_loop()
    live: set[_Connection] = set()
    server = await loop.create_server(
        lambda: _Connection(handler, max_body, live),
        host,
        port,
        reuse_address=True,
        backlog=1024,
        ssl=ssl,
    )
    sweep = loop.create_task(_sweep(server, live), name="http-read-timeouts")
    _SWEEPS.add(sweep)
    sweep.add_done_callback(_SWEEPS.discard)
    return server


_SWEEPS: set[asyncio.Task[None]] = set()


async def _sweep(server: asyncio.Server, live: set[_Connection]) -> None:
    """Close the connections past their deadline, each second, while the server serves."""
    loop = asyncio.get_running_loop()
    while server.is_serving():
        await asyncio.sleep(SWEEP_EVERY_S)
        now = loop.time()
        for conn in [c for c in live if c.deadline < now]:
            conn.expire()
