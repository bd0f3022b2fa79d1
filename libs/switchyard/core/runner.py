"""The one way a service starts: `run(spec)` from its `main.py`.

The runner owns the event loop, signals, logging, tracing, the database
(with migrations), the bus, the outbox relay, the gRPC server with health
and reflection, and the probe port; an AsyncExitStack closes them in
reverse order. On SIGTERM the service reports NOT_SERVING, drains in-flight
RPCs for `drain_seconds`, then stops its loops and closes its resources.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2

from switchyard.core import logs, telemetry
from switchyard.core.bus import Bus
from switchyard.core.config import DEFAULT_PORTS, Settings
from switchyard.core.db import Database
from switchyard.core.outbox import MIGRATION as OUTBOX_MIGRATION
from switchyard.core.outbox import Outbox, OutboxRelay
from switchyard.core.probes import ProbeServer
from switchyard.core.rpc import build_server, enable_reflection

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a service's setup receives: shared resources, already open."""

    name: str
    settings: Settings
    db: Database
    bus: Bus
    outbox: Outbox
    server: grpc.aio.Server
    stack: AsyncExitStack
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def background(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run a loop for the service's lifetime; it is cancelled on shutdown."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "background task died", exc_info=task.exception(), extra={"task": task.get_name()}
            )

    async def cancel_background(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    grpc_services: tuple[str, ...]  # full names, for reflection
    migrations: Path | None
    setup: Callable[[Runtime], Awaitable[None]]


@dataclass(frozen=True)
class Bound:
    """Where a started service listens (ports resolved when 0 was asked)."""

    grpc: str
    http: str


async def serve(
    spec: ServiceSpec,
    settings: Settings,
    *,
    stop: asyncio.Event,
    on_ready: Callable[[Bound], None] | None = None,
) -> None:
    if not settings.database_url or not settings.nats_url:
        raise SystemExit("SWITCHYARD_DATABASE_URL and SWITCHYARD_NATS_URL must be set")
    grpc_default, http_default = DEFAULT_PORTS.get(spec.name, (0, 0))
    grpc_port = settings.grpc_port if settings.grpc_port is not None else grpc_default
    http_port = settings.http_port if settings.http_port is not None else http_default
    ready = False

    async def is_ready() -> bool:
        return ready and runtime.bus.connected

    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(
            Database(
                settings.database_url,
                settings.schema_for(spec.name),
                min_size=settings.db_pool_min,
                max_size=settings.db_pool_max,
            )
        )
        await db.migrate([OUTBOX_MIGRATION, *([spec.migrations] if spec.migrations else [])])
        bus = await stack.enter_async_context(
            Bus(settings.nats_url, namespace=settings.namespace, name=f"switchyard-{spec.name}")
        )
        await bus.ensure_events_stream(
            max_age_days=settings.events_max_age_days, replicas=settings.events_replicas
        )
        server, health_servicer = build_server()
        relay, outbox = OutboxRelay(db, bus), Outbox()
        outbox.on_commit = relay.wake
        runtime = Runtime(spec.name, settings, db, bus, outbox, server, stack)
        stack.push_async_callback(runtime.cancel_background)
        await spec.setup(runtime)
        enable_reflection(server, spec.grpc_services)
        bound_grpc = server.add_insecure_port(f"{settings.host}:{grpc_port}")
        await server.start()
        stack.push_async_callback(server.stop, 0)
        runtime.background(relay.run(), "outbox-relay")
        probes = await stack.enter_async_context(ProbeServer(settings.host, http_port, is_ready))
        for name in ("", *spec.grpc_services):
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        ready = True
        bound = Bound(f"{settings.host}:{bound_grpc}", f"http://{settings.host}:{probes.port}")
        log.info("service ready", extra={"grpc": bound.grpc, "http": bound.http})
        if on_ready is not None:
            on_ready(bound)
        await stop.wait()
        # Drain: stop taking new work, let in-flight RPCs finish.
        ready = False
        await health_servicer.enter_graceful_shutdown()
        log.info("draining", extra={"grace_s": settings.drain_seconds})
        await server.stop(settings.drain_seconds)


def run(spec: ServiceSpec, settings: Settings | None = None) -> None:
    """Run a service until SIGTERM or SIGINT."""
    settings = settings or Settings()
    logs.configure(spec.name, level=settings.log_level, fmt=settings.log_format)
    provider = telemetry.setup_tracing(spec.name, settings.otlp_endpoint)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(spec, settings, stop=stop)

    try:
        _run_loop(main())
    finally:
        provider.shutdown()


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it exists (not on Windows): the scheduler bench ran about a
    tenth faster with the services on it. The worker keeps asyncio's loop: on
    uvloop it used no less CPU, and starting job processes through libuv was
    slower."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)
