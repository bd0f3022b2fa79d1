"""A client that stalls while sending a request gets its connection closed
(headers within a deadline, a body that does not go quiet), while a slow but
steady upload goes through."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

from switchyard.services.web import read_timeouts
from switchyard.testing.platform import LocalPlatform


@pytest.fixture
def edge(switchyard_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    # The platform runs in this process: shorter limits make the test quick.
    monkeypatch.setattr(read_timeouts, "HEADER_TIMEOUT_S", 0.5)
    monkeypatch.setattr(read_timeouts, "BODY_IDLE_S", 0.5)
    url = urlsplit(switchyard_platform.endpoints.http["web"])
    return url.hostname or "127.0.0.1", url.port or 80


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed the connection (reads b'' or is reset)."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - start


def test_partial_headers_are_cut_off(edge: tuple[str, int]) -> None:
    with socket.create_connection(edge) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never ends the headers
        assert _closed_within(sock, 5) < 3


def test_a_stalled_body_is_cut_off(edge: tuple[str, int]) -> None:
    with socket.create_connection(edge) as sock:
        sock.sendall(
            b"POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\nHost: x\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na'
        )
        assert _closed_within(sock, 5) < 3


def test_a_slow_steady_upload_goes_through(
    edge: tuple[str, int], switchyard_platform: LocalPlatform
) -> None:
    body = b"x" * 40
    token = switchyard_platform.token.encode()
    with socket.create_connection(edge) as sock:
        sock.sendall(
            b"PUT /api/2.0/mlflow-artifacts/artifacts/slow/upload.bin HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n" % (token, len(body))
        )
        for i in range(0, len(body), 4):  # 4 bytes every 0.2 s: 2 s in all, 4x the limit
            sock.sendall(body[i : i + 4])
            time.sleep(0.2)
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
