"""What Switchyard assumes of nats-py, asyncpg and grpcio, checked on the real servers.

Each test provokes a fault or a quiet spell the way it happens in
production and asserts the library raises what our code catches: when a
release changes the class it raises (nats-py 2.16 began raising asyncio's
TimeoutError from an idle fetch), this fails in CI's newest-versions run
instead of a background loop dying at a user's. minio's error codes are
held by test_artifacts (missing keys, bad credentials); starlette's JSON
errors by test_web_errors.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import grpc
import nats
import nats.errors
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.js.errors import NoStreamResponseError, NotFoundError

from switchyard.core.transient import TRANSIENT
from switchyard.testing.platform import Infrastructure, LocalPlatform


def _name() -> str:
    return f"c{uuid.uuid4().hex[:10]}"


# -- nats-py -----------------------------------------------------------------


@pytest.mark.parametrize("batch", [1, 64])
async def test_idle_fetch_ends_in_a_builtin_timeout(
    switchyard_infra: Infrastructure, batch: int
) -> None:
    nc = await nats.connect(switchyard_infra.nats_url)
    try:
        js = nc.jetstream()
        stream = _name().upper()
        await js.add_stream(name=stream, subjects=[f"{stream}.>"])
        sub = await js.pull_subscribe(f"{stream}.>", stream=stream)
        for _ in range(3):
            # What Bus and the worker handle: a builtin TimeoutError (nats-py
            # raises its own subclass or asyncio's) or, in older releases, an
            # empty batch; either only after waiting, or the loops would spin.
            started = time.monotonic()
            try:
                assert await sub.fetch(batch, timeout=0.2) == []
            except TimeoutError:
                pass
            assert 0.15 < time.monotonic() - started < 2
        await js.delete_stream(stream)
    finally:
        await nc.close()


async def test_missing_stream_and_publish_without_stream(
    switchyard_infra: Infrastructure,
) -> None:
    nc = await nats.connect(switchyard_infra.nats_url)
    try:
        js = nc.jetstream()
        with pytest.raises(NotFoundError):  # Bus.ensure_events_stream creates on this
            await js.stream_info(_name())
        with pytest.raises(NoStreamResponseError) as err:  # NATS restarted empty
            await js.publish(f"nostream.{_name()}", b"x", timeout=1)
        assert isinstance(err.value, TRANSIENT)
    finally:
        await nc.close()


async def test_a_closed_connection_raises_a_transient_error(
    switchyard_infra: Infrastructure,
) -> None:
    nc = await nats.connect(switchyard_infra.nats_url)
    js = nc.jetstream()
    await nc.close()
    with pytest.raises(TRANSIENT):
        await js.publish("sy.x", b"x", timeout=1)


# -- asyncpg -----------------------------------------------------------------


async def test_constraint_violations_have_their_classes(
    switchyard_infra: Infrastructure,
) -> None:
    conn = await asyncpg.connect(switchyard_infra.database_url)
    try:
        parent, child = _name(), _name()
        await conn.execute(f"CREATE TEMP TABLE {parent} (id int PRIMARY KEY)")
        await conn.execute(f"CREATE TEMP TABLE {child} (p int REFERENCES {parent})")
        await conn.execute(f"INSERT INTO {parent} VALUES (1)")
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(f"INSERT INTO {parent} VALUES (1)")
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(f"INSERT INTO {child} VALUES (2)")
        with pytest.raises(asyncpg.RaiseError):  # the registry's append-only triggers
            await conn.execute("DO $$ BEGIN RAISE EXCEPTION 'append-only'; END $$")
    finally:
        await conn.close()


async def test_a_connection_killed_by_the_server_raises_a_transient_error(
    switchyard_infra: Infrastructure,
) -> None:
    victim = await asyncpg.connect(switchyard_infra.database_url)
    killer = await asyncpg.connect(switchyard_infra.database_url)
    try:
        pid = victim.get_server_pid()
        await killer.execute("SELECT pg_terminate_backend($1)", pid)
        await asyncio.sleep(0.1)
        with pytest.raises(TRANSIENT):
            await victim.fetchval("SELECT 1")
    finally:
        victim.terminate()
        await killer.close()


async def test_a_pool_against_a_closed_port_raises_a_transient_error() -> None:
    with pytest.raises(TRANSIENT):
        await asyncpg.connect("postgresql://x@127.0.0.1:9/none", timeout=2)


# -- grpcio ------------------------------------------------------------------


async def test_aio_errors_are_rpc_errors_with_codes(switchyard_platform: LocalPlatform) -> None:
    address = switchyard_platform.bound["tracking"].grpc
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as err:  # what the SDK's one mapping catches
            await health.Check(health_pb2.HealthCheckRequest(service="nosuch"), timeout=5)
        assert isinstance(err.value, grpc.aio.AioRpcError)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
