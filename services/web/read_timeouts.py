"""Read timeouts for the REST edge's HTTP connections.

uvicorn closes idle kept-alive connections but never times out a request
being read: a client that sends half its headers, or stops in the middle of
a body, holds a connection (and its memory) for ever. Here a request's
headers must arrive within `HEADER_TIMEOUT_S` of its first byte (or of the
connection opening), and its body may not go quiet for longer than
`BODY_IDLE_S` between reads (a large artifact upload that keeps sending is
never cut). The connection is closed when either runs out, as nginx's
`client_header_timeout` and `client_body_timeout` do.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from switchyard.serving.http import BODY_IDLE_S, HEADER_TIMEOUT_S  # the data plane's limits


class TimedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._reading_body = False

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _too_slow(self) -> None:
        self._read_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(HEADER_TIMEOUT_S)

    def shutdown(self) -> None:
        # The server is stopping. Over TLS, close() waits (up to 30 s) for the
        # peer's close_notify, which an idle pooled client never sends, and the
        # loop closes first: an idle connection is dropped at once instead.
        idle = self.cycle is None or self.cycle.response_complete
        if idle and self.transport.get_extra_info("ssl_object") is not None:
            self.transport.abort()
            return
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_body:
            self._arm(BODY_IDLE_S)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_body = False
        if self._read_timer is None:
            self._arm(HEADER_TIMEOUT_S)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._reading_body = True
        self._arm(BODY_IDLE_S)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_body = False
        self._disarm()  # the reply is the app's business; idle keep-alive is uvicorn's
