"""The SDK's transport against a real gRPC server (the platform's own server
plumbing, `core.rpc.build_server`) with a scripted tracking servicer: the
metadata every call carries, retries of what is safe to repeat, errors
mapped once (correlation id included), and closing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider

from switchyard import errors
from switchyard.core.config import Settings
from switchyard.core.rpc import build_server
from switchyard.proto.v1 import tracking_pb2 as pb
from switchyard.proto.v1 import tracking_pb2_grpc
from switchyard.sdk import ops
from switchyard.sdk.interceptors import BearerToken, Identity, TraceContext, default_chain
from switchyard.sdk.rpcs import tracking
from switchyard.sdk.transport import AsyncTransport, Retry, Transport

FAST = Retry(attempts=3, backoff=0.001, max_backoff=0.002)


class Scripted(tracking_pb2_grpc.TrackingServiceServicer):
    """Answers from a script of failures, then succeeds; remembers what it saw."""

    def __init__(self) -> None:
        self.failures: list[BaseException] = []
        self.calls: list[str] = []
        self.metadata: list[dict[str, str]] = []

    def _see(self, method: str, context: grpc.aio.ServicerContext) -> None:
        self.calls.append(method)
        self.metadata.append({k: v for k, v in context.invocation_metadata() or ()})
        if self.failures:
            raise self.failures.pop(0)

    async def GetRun(self, request: pb.GetRunRequest, context: Any) -> pb.GetRunResponse:
        self._see("GetRun", context)
        reply = pb.GetRunResponse()
        reply.run.info.run_id = request.run_id
        return reply

    async def LogBatch(self, request: pb.LogBatchRequest, context: Any) -> pb.LogBatchResponse:
        self._see("LogBatch", context)
        return pb.LogBatchResponse()


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Scripted]]:
    servicer = Scripted()
    srv, _ = build_server()
    tracking_pb2_grpc.add_TrackingServiceServicer_to_server(servicer, srv)
    port = srv.add_insecure_port("127.0.0.1:0")
    await srv.start()
    yield f"127.0.0.1:{port}", servicer
    await srv.stop(None)


def _settings(tmp_path: Any) -> Settings:
    return Settings(home=tmp_path)


async def test_every_call_says_who_calls_and_carries_the_trace(
    server: tuple[str, Scripted], tmp_path: Any
) -> None:
    address, servicer = server
    transport = AsyncTransport(
        _settings(tmp_path),
        addresses={"tracking": address},
        interceptors=[TraceContext(), Identity("switchyard-sdk/9", actor="ada"), BearerToken("s3")],
    )
    await transport.send(tracking.GET_RUN, pb.GetRunRequest(run_id="a"))
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("user action") as span:
        await transport.send(tracking.GET_RUN, pb.GetRunRequest(run_id="b"))
    await transport.close()

    untraced, traced = servicer.metadata
    for seen in (untraced, traced):
        assert seen["sy-client"] == "switchyard-sdk/9"
        assert seen["sy-actor"] == "ada"
        assert seen["authorization"] == "Bearer s3"
    assert "traceparent" not in untraced
    assert traced["traceparent"].split("-")[1] == f"{span.get_span_context().trace_id:032x}"


def test_the_default_chain_adds_a_token_only_when_there_is_one(tmp_path: Any) -> None:
    plain = default_chain(_settings(tmp_path))
    assert [type(i) for i in plain] == [TraceContext, Identity]
    with_token = default_chain(SimpleNamespace(token="t"), client="switchyard-web")  # type: ignore[arg-type]
    assert [type(i) for i in with_token] == [TraceContext, Identity, BearerToken]
    assert dict(with_token[1].fixed())["sy-client"].startswith("switchyard-web/")
    assert "t" not in repr(with_token[2])
    with pytest.raises(errors.InvalidArgument):
        BearerToken("")


async def test_reads_are_retried_when_unavailable_and_appends_are_not(
    server: tuple[str, Scripted], tmp_path: Any
) -> None:
    address, servicer = server
    transport = AsyncTransport(_settings(tmp_path), addresses={"tracking": address}, retry=FAST)
    servicer.failures = [errors.Unavailable("busy"), errors.Unavailable("still busy")]
    run = await transport.call(ops.get_run("r1"))
    assert run.info.run_id == "r1" and servicer.calls == ["GetRun"] * 3

    servicer.calls.clear()
    servicer.failures = [errors.Unavailable("busy")]
    with pytest.raises(errors.Unavailable):
        await transport.call(ops.log_batch("r1", params={"p": 1}))
    assert servicer.calls == ["LogBatch"]  # a repeat could store points twice

    servicer.calls.clear()
    servicer.failures = [errors.Unavailable("down")] * 3
    with pytest.raises(errors.Unavailable, match="down"):
        await transport.send(tracking.GET_RUN, pb.GetRunRequest(run_id="r1"))
    assert servicer.calls == ["GetRun"] * 3  # bounded

    servicer.calls.clear()
    servicer.failures = [errors.Unavailable("busy"), errors.NotFound("gone", entity="run")]
    with pytest.raises(errors.NotFound):
        await transport.call(ops.get_run("r1"))
    assert servicer.calls == ["GetRun"] * 2  # only UNAVAILABLE is retried
    await transport.close()


async def test_the_blocking_transport_does_the_same(
    server: tuple[str, Scripted], tmp_path: Any
) -> None:
    address, servicer = server

    def scenario() -> None:
        transport = Transport(_settings(tmp_path), addresses={"tracking": address}, retry=FAST)
        servicer.failures = [errors.Unavailable("busy")]
        assert transport.call(ops.get_run("r2")).info.run_id == "r2"
        assert servicer.calls == ["GetRun", "GetRun"]
        assert servicer.metadata[0]["sy-client"].startswith("switchyard-sdk/")
        servicer.failures = [errors.Unavailable("busy")]
        with pytest.raises(errors.Unavailable):
            transport.send(tracking.LOG_BATCH, pb.LogBatchRequest(run_id="r2"))
        servicer.failures = [errors.InvalidArgument("bad", field="run_id")]
        with pytest.raises(errors.InvalidArgument) as bad:
            transport.call(ops.get_run("r2"))
        assert bad.value.field == "run_id"
        transport.close()
        transport.close()  # idempotent
        with pytest.raises(errors.FailedPrecondition):
            transport.call(ops.get_run("r2"))

    await asyncio.to_thread(scenario)


async def test_an_internal_error_brings_its_correlation_id(
    server: tuple[str, Scripted], tmp_path: Any
) -> None:
    address, servicer = server
    transport = AsyncTransport(_settings(tmp_path), addresses={"tracking": address})
    servicer.failures = [RuntimeError("a bug")]
    with pytest.raises(errors.Internal) as caught:
        await transport.call(ops.get_run("r3"))
    error = caught.value
    assert error.correlation_id and error.correlation_id in error.message
    assert "a bug" not in error.message  # never the server's traceback
    await transport.close()
    await transport.close()
    with pytest.raises(errors.FailedPrecondition):
        await transport.call(ops.get_run("r3"))


def test_an_unknown_service_address_is_unavailable(tmp_path: Any) -> None:
    transport = Transport(_settings(tmp_path))
    with pytest.raises(errors.Unavailable):
        transport.call(ops.get_run("r4"))
