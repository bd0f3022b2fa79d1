"""A service whose PostgreSQL goes away: RPCs answer UNAVAILABLE (the SDK's
cue to retry), `/readyz` fails with the reason, and both recover by
themselves when the database is back, with no restart.

The outage is real at the network level: the service reaches PostgreSQL
through a TCP relay that this test cuts (every connection reset, new ones
refused) and restores; the shared test database itself keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlsplit, urlunsplit

import grpc
import pytest

from switchyard.core.config import Settings
from switchyard.core.runner import Bound, serve
from switchyard.core.service_spec import spec
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.proto.v1 import tracking_pb2_grpc as rpc
from switchyard.testing.platform import Infrastructure


class Relay:
    """host:port -> target, until cut; a cut resets every connection and refuses new ones."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for writer in list(self.links):
            writer.transport.abort()
        self.links.clear()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.links |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self.links -= {writer, up_writer}


def readyz(bound: Bound) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{bound.http}/readyz", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def eventually(check: object, seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            if await check():  # type: ignore[operator]
                return
        except grpc.aio.AioRpcError:
            pass
        assert asyncio.get_running_loop().time() < deadline, "did not recover in time"
        await asyncio.sleep(0.1)


@pytest.mark.timeout(120)
async def test_rpcs_are_unavailable_while_the_database_is_gone(
    switchyard_infra: Infrastructure,
) -> None:
    db = urlsplit(switchyard_infra.database_url)
    relay = Relay(db.hostname or "127.0.0.1", db.port or 5432)
    await relay.start()
    user = db.username or "postgres"
    login = f"{user}:{db.password}" if db.password else user
    dsn = urlunsplit(db._replace(netloc=f"{login}@127.0.0.1:{relay.port}"))
    settings = Settings(
        database_url=dsn,
        nats_url=switchyard_infra.nats_url,
        namespace=f"outage{uuid.uuid4().hex[:6]}",
        auth=False,  # the outage, not the tokens (which live in the same database)
        grpc_port=0,
        http_port=0,
    )
    stop = asyncio.Event()
    ready: asyncio.Future[Bound] = asyncio.get_running_loop().create_future()
    service = asyncio.create_task(
        serve(spec("tracking"), settings, stop=stop, on_ready=ready.set_result)
    )
    bound = await asyncio.wait_for(ready, 60)
    try:
        async with grpc.aio.insecure_channel(bound.grpc) as channel:
            stub = rpc.TrackingServiceStub(channel)

            async def create() -> bool:
                name = uuid.uuid4().hex
                await stub.CreateExperiment(pb.CreateExperimentRequest(name=name), timeout=10)
                return True

            assert await create()
            status, _ = await asyncio.to_thread(readyz, bound)
            assert status == 200

            await relay.cut()
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await create()
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, caught.value.details()
            status, why = await asyncio.to_thread(readyz, bound)
            assert status == 503 and "database unreachable" in why, (status, why)

            await relay.start()  # the database is back: no restart needed
            started = asyncio.get_running_loop().time()
            await eventually(create, 10)
            recovered_s = asyncio.get_running_loop().time() - started
            assert (await asyncio.to_thread(readyz, bound))[0] == 200
            assert recovered_s < 5
    finally:
        stop.set()
        await asyncio.wait_for(service, 30)
        await relay.cut()
