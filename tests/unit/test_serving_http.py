"""serving.http (the lean HTTP/1.1 server) and serving.upstream (its client pool), real sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from switchyard.serving.http import Request, Response, serve_http
from switchyard.serving.upstream import Upstream, UpstreamError


async def echo(request: Request) -> Response:
    if request.path == "/slow":
        await asyncio.sleep(0.05)
    if request.path == "/boom":
        raise RuntimeError("boom")
    body = json.dumps(
        {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "body": request.body.decode(),
            "x": request.headers.get("x-test", ""),
        }
    ).encode()
    return Response(200, body, [("x-echo", "1")])


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, int]]:
    srv = await serve_http(echo, "127.0.0.1", 0, max_body=1000)
    host, port = srv.sockets[0].getsockname()[:2]
    yield host, port
    srv.close()
    await srv.wait_closed()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    status_line = await asyncio.wait_for(reader.readline(), 5)
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return status, headers, body


async def test_keep_alive_serves_many_requests_on_one_connection(server: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*server)
    for i in range(3):
        body = f"hello {i}".encode()
        writer.write(
            b"POST /echo?q=%d HTTP/1.1\r\nhost: x\r\nx-test: yes\r\ncontent-length: %d\r\n\r\n%s"
            % (i, len(body), body)
        )
        status, headers, got = await read_response(reader)
        assert status == 200 and headers["x-echo"] == "1"
        assert headers["content-type"] == "application/json" and "connection" not in headers
        assert json.loads(got) == {
            "method": "POST",
            "path": "/echo",
            "query": f"q={i}",
            "body": f"hello {i}",
            "x": "yes",
        }
    writer.close()


async def test_pipelined_requests_are_answered_in_order(server: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*server)
    # A slow one first: the fast ones behind it must still come back after it.
    paths = ["/slow", "/a", "/slow", "/b", "/c"]
    writer.write(b"".join(b"GET %s HTTP/1.1\r\nhost: x\r\n\r\n" % p.encode() for p in paths))
    got = [json.loads((await read_response(reader))[2])["path"] for _ in paths]
    assert got == paths
    writer.close()


async def test_chunked_request_body(server: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*server)
    writer.write(
        b"POST /c HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    status, _, body = await read_response(reader)
    assert status == 200 and json.loads(body)["body"] == "hello world"
    writer.close()


@pytest.mark.parametrize("chunked", [False, True])
async def test_body_over_the_limit_is_413_and_closes(
    server: tuple[str, int], chunked: bool
) -> None:
    reader, writer = await asyncio.open_connection(*server)
    big = b"x" * 1500
    if chunked:
        writer.write(
            b"POST /big HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big)
        )
    else:
        writer.write(b"POST /big HTTP/1.1\r\nhost: x\r\ncontent-length: 1500\r\n\r\n" + big)
    status, headers, body = await read_response(reader)
    assert status == 413 and "error" in json.loads(body)
    assert headers["connection"] == "close"
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_malformed_request_is_400_then_closed(server: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*server)
    writer.write(b"GET /ok HTTP/1.1\r\nhost: x\r\n\r\nNOT HTTP AT ALL\r\n\r\n")
    status, _, _ = await read_response(reader)
    assert status == 200  # the good request before the garbage is still answered
    status, headers, body = await read_response(reader)
    assert status == 400 and headers["connection"] == "close"
    assert json.loads(body)["error"].startswith("malformed HTTP request")
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_connection_close_is_honoured(server: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*server)
    writer.write(
        b"GET /one HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        b"GET /two HTTP/1.1\r\nhost: x\r\n\r\n"
    )
    status, headers, body = await read_response(reader)
    assert status == 200 and headers["connection"] == "close"
    assert json.loads(body)["path"] == "/one"
    assert await asyncio.wait_for(reader.read(), 5) == b""  # /two is never answered
    writer.close()


async def test_handler_that_raises_gives_500_and_keeps_the_connection(
    server: tuple[str, int],
) -> None:
    reader, writer = await asyncio.open_connection(*server)
    writer.write(b"GET /boom HTTP/1.1\r\nhost: x\r\n\r\nGET /after HTTP/1.1\r\nhost: x\r\n\r\n")
    status, _, body = await read_response(reader)
    assert status == 500 and "RuntimeError" in json.loads(body)["error"]
    status, _, body = await read_response(reader)
    assert status == 200 and json.loads(body)["path"] == "/after"
    writer.close()


# -- upstream.py


async def test_upstream_reuses_one_connection(server: tuple[str, int]) -> None:
    host, port = server
    upstream = Upstream(f"{host}:{port}")
    seen = []
    for i in range(5):
        status, headers, body = await upstream.request(
            "POST", f"/r{i}", [("x-test", "t")], b"payload"
        )
        assert status == 200 and ("x-echo", "1") in headers
        assert json.loads(body) == {
            "method": "POST",
            "path": f"/r{i}",
            "query": "",
            "body": "payload",
            "x": "t",
        }
        seen.append(upstream._idle[-1])
    assert len(set(map(id, seen))) == 1 and len(upstream._idle) == 1
    # Concurrent requests open more connections, all pooled afterwards.
    results = await asyncio.gather(*(upstream.request("GET", "/slow", [], b"") for _ in range(4)))
    assert [r[0] for r in results] == [200] * 4 and len(upstream._idle) == 4
    await upstream.close()
    await upstream.close()  # idempotent
    with pytest.raises(UpstreamError) as caught:
        await upstream.request("GET", "/", [], b"")
    assert caught.value.sent is False


async def test_upstream_retries_a_connection_the_peer_closed_while_idle() -> None:
    """A server that answers once per connection and then drops it, without saying so."""
    connections = 0

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()

    srv = await asyncio.start_server(once, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    upstream = Upstream(f"127.0.0.1:{port}")
    assert (await upstream.request("GET", "/", [], b""))[2] == b"ok"
    await asyncio.sleep(0.2)  # the peer has closed the pooled connection by now
    assert (await upstream.request("GET", "/", [], b""))[2] == b"ok"
    assert connections == 2
    await upstream.close()
    srv.close()


async def test_upstream_retry_when_the_close_is_not_seen_yet() -> None:
    """The close races the next request: the request hits a dead socket and is resent."""
    connections = 0

    async def drop_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # the second request: drop it unanswered
        writer.close()

    srv = await asyncio.start_server(drop_second, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    upstream = Upstream(f"127.0.0.1:{port}")
    assert (await upstream.request("GET", "/", [], b""))[2] == b"ok"
    assert (await upstream.request("GET", "/", [], b""))[2] == b"ok"
    assert connections == 2
    await upstream.close()
    srv.close()


async def test_upstream_error_says_whether_the_request_left() -> None:
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    with pytest.raises(UpstreamError) as refused:
        await Upstream(f"127.0.0.1:{port}").request("GET", "/", [], b"")
    assert refused.value.sent is False

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()  # read the request, answered nothing

    srv = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    with pytest.raises(UpstreamError) as dropped:
        await Upstream(f"127.0.0.1:{port}").request("GET", "/", [], b"")
    assert dropped.value.sent is True

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    srv2 = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = srv2.sockets[0].getsockname()[1]
    with pytest.raises(UpstreamError) as late:
        await Upstream(f"127.0.0.1:{port}", timeout=0.2).request("GET", "/", [], b"")
    assert late.value.sent is True and "no response" in str(late.value)
    srv.close()
    srv2.close()


@pytest.fixture
def quick_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    from switchyard.serving import http

    for name, value in (
        ("HEADER_TIMEOUT_S", 0.3),
        ("BODY_IDLE_S", 0.3),
        ("KEEP_ALIVE_S", 0.6),
        ("SWEEP_EVERY_S", 0.05),
    ):
        monkeypatch.setattr(http, name, value)


async def _closed(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), 3) == b""


async def test_stalled_requests_and_idle_connections_are_closed(
    quick_deadlines: None, server: tuple[str, int]
) -> None:
    # half the headers, never the rest
    reader, writer = await asyncio.open_connection(*server)
    writer.write(b"GET /echo HTTP/1.1\r\nhost: x\r\n")
    assert await _closed(reader)
    writer.close()
    # a body that stops
    reader, writer = await asyncio.open_connection(*server)
    writer.write(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 50\r\n\r\nabc")
    assert await _closed(reader)
    writer.close()
    # a slow but steady body goes through; then, idle, the kept-alive connection goes
    reader, writer = await asyncio.open_connection(*server)
    writer.write(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 8\r\n\r\n")
    for part in (b"ab", b"cd", b"ef", b"gh"):
        await asyncio.sleep(0.2)  # under the 0.3 s idle limit each time, 0.8 s in all
        writer.write(part)
    status, _, body = await read_response(reader)
    assert status == 200 and json.loads(body)["body"] == "abcdefgh"
    assert await _closed(reader)
    writer.close()
