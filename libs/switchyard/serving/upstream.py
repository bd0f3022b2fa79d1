"""A keep-alive HTTP/1.1 client pool to one host:port (asyncio + httptools).

    upstream = Upstream("127.0.0.1:8080")
    status, headers, body = await upstream.request("POST", "/v2/models/m/infer", [], body)

One request at a time per connection; idle connections are reused last-in
first-out (the warmest socket, and idle ones at the bottom age out with the
peer's keep-alive timeout). `UpstreamError.sent` tells a caller whether the
request may have reached the peer: only when it is False is retrying it on
another replica safe for a non-idempotent request.
"""

from __future__ import annotations

import asyncio
import socket

import httptools


class UpstreamError(Exception):
    """The upstream gave no response; `sent` is False when the request never left."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class _Reused(Exception):
    """A pooled connection died before answering anything: the peer closed it while idle."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[tuple[int, list[tuple[str, str]], bytes]] | None = None
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._got_bytes = False
        self.keep_alive = True

    @property
    def alive(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if not self._got_bytes:
                waiter.set_exception(_Reused())
            else:
                waiter.set_exception(UpstreamError("upstream closed mid-response", sent=True))

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.keep_alive = False
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_exception(
                    UpstreamError(f"malformed upstream response: {exc}", sent=True)
                )
            self.close()

    def send(
        self, data: bytes, waiter: asyncio.Future[tuple[int, list[tuple[str, str]], bytes]]
    ) -> None:
        assert self.transport is not None
        self._waiter = waiter
        self._headers = []
        self._body = []
        self._got_bytes = False
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = bool(self._parser.should_keep_alive())
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
            waiter.set_result((self._parser.get_status_code(), self._headers, body))


class Upstream:
    def __init__(self, address: str, *, max_idle: int = 64, timeout: float = 60.0) -> None:
        host, _, port = address.rpartition(":")
        self.address = address
        self._host = host.strip("[]")
        self._port = int(port)
        self._host_header = f"host: {address}\r\n".encode("latin-1")
        self._idle: list[_Connection] = []
        self._max_idle = max_idle
        self._timeout = timeout
        self._closed = False

    async def request(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body). Raises UpstreamError; Host and Content-Length are added."""
        head = [f"{method} {path} HTTP/1.1\r\n".encode("latin-1"), self._host_header]
        head.extend(f"{k}: {v}\r\n".encode("latin-1") for k, v in headers)
        head.append(f"content-length: {len(body)}\r\n\r\n".encode("latin-1"))
        head.append(body)
        data = b"".join(head)
        conn = self._pooled()
        if conn is not None:
            try:
                return await self._exchange(conn, data)
            except _Reused:
                pass  # closed while idle: the request was not read; once more, on a new one
        conn = await self._connect()
        try:
            return await self._exchange(conn, data)
        except _Reused:
            raise UpstreamError(f"{self.address} closed the connection", sent=True) from None

    def _pooled(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.alive:
                return conn
        return None

    async def _connect(self) -> _Connection:
        if self._closed:
            raise UpstreamError(f"upstream {self.address} is closed", sent=False)
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(_Connection, self._host, self._port), self._timeout
            )
        except (OSError, TimeoutError) as exc:
            raise UpstreamError(f"cannot connect to {self.address}: {exc}", sent=False) from exc
        return conn

    async def _exchange(
        self, conn: _Connection, data: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[int, list[tuple[str, str]], bytes]] = loop.create_future()
        conn.send(data, waiter)
        # A timer, not asyncio.wait_for: cheaper on the hot path (no extra future per call).
        timer = loop.call_later(self._timeout, self._expire, waiter)
        try:
            result = await waiter
        except BaseException:
            conn.close()  # failed, timed out or cancelled: its next answer would belong to no one
            raise
        finally:
            timer.cancel()
        if conn.keep_alive and conn.alive and not self._closed and len(self._idle) < self._max_idle:
            self._idle.append(conn)
        else:
            conn.close()
        return result

    def _expire(self, waiter: asyncio.Future[tuple[int, list[tuple[str, str]], bytes]]) -> None:
        if not waiter.done():
            message = f"{self.address} gave no response in {self._timeout:g} s"
            waiter.set_exception(UpstreamError(message, sent=True))

    async def close(self) -> None:
        """Close idle connections; ones in use close when their request ends (idempotent)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
