"""The one way a service starts: `run(spec)` from its `main.py`.

The runner owns the event loop, signals, logging, tracing, and what the
service's spec asks for: the database (with migrations), the bus, the
outbox relay, the gRPC server with health, reflection and the spec's
interceptors; and the probe port. An AsyncExitStack closes them in
reverse order. On SIGTERM the service reports NOT_SERVING, drains in-flight
RPCs for `drain_seconds`, then stops its loops and closes its resources;
a stop that takes past `stop_deadline_seconds`, or a second signal, ends
the process there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2
from prometheus_client import Gauge

from switchyard.core import logs, telemetry
from switchyard.core.audit import MIGRATION as AUDIT_MIGRATION
from switchyard.core.auth import AuthInterceptor, Principal, Verifier, authorization
from switchyard.core.bus import Bus
from switchyard.core.config import Settings
from switchyard.core.db import Database
from switchyard.core.outbox import MIGRATION as OUTBOX_MIGRATION
from switchyard.core.outbox import Outbox, OutboxRelay
from switchyard.core.probes import ProbeServer
from switchyard.core.rpc import build_server, enable_reflection
from switchyard.core.service_spec import Need, ServiceSpec
from switchyard.core.tls import ClientTls, ServerTls

log = logging.getLogger(__name__)
LOOP_RUNNING = Gauge(
    "switchyard_loop_running", "1 while a background loop runs, 0 once it died", ["service", "loop"]
)


@dataclass
class Runtime:
    """What a service's setup receives: the resources its spec needs, already open."""

    spec: ServiceSpec
    settings: Settings
    stack: AsyncExitStack
    stop: asyncio.Event  # set when the process is told to stop
    _db: Database | None = None
    _bus: Bus | None = None
    _outbox: Outbox | None = None
    _relay: OutboxRelay | None = None
    _server: grpc.aio.Server | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _main: asyncio.Task[Any] | None = None
    dead: dict[str, str] = field(default_factory=dict)  # loop name -> its error
    _on_bound: list[Callable[[str], None]] = field(default_factory=list)
    # Checks every call's token when authentication is on (None when off);
    # the service that keeps the tokens sets its lookup to its own store.
    verifier: Verifier | None = None

    def on_bound(self, callback: Callable[[str], None]) -> None:
        """Call `callback` with the gRPC address (host:port) once the server listens."""
        self._on_bound.append(callback)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def db(self) -> Database:
        return _needed(self._db, self.spec, "a database (Need.DATABASE)")

    @property
    def bus(self) -> Bus:
        return _needed(self._bus, self.spec, "the bus (Need.BUS)")

    @property
    def outbox(self) -> Outbox:
        return _needed(self._outbox, self.spec, "an outbox (Need.OUTBOX)")

    @property
    def server(self) -> grpc.aio.Server:
        return _needed(self._server, self.spec, "a gRPC port")

    def background(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run a loop for the service's lifetime; it is cancelled on shutdown.

        A loop that ends by itself (it should retry what it can survive) makes
        the service not ready, with the reason, and shows in `switchyard_loop_running`.
        """
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        LOOP_RUNNING.labels(self.spec.name, name).set(1)
        return task

    def main_task(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """The process's own work (a worker's pull loop), which ends the process.

        Unlike a background loop it is not cancelled: on SIGTERM it is told
        through `stop` and awaited (a worker hands its jobs back first); if it
        ends by itself, the process stops, with its error if it raised one.
        """
        self._main = asyncio.create_task(coro, name=name)
        self._main.add_done_callback(lambda _: self.stop.set())

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():  # shutdown
            return
        LOOP_RUNNING.labels(self.spec.name, task.get_name()).set(0)
        error = task.exception()
        self.dead[task.get_name()] = repr(error) if error else "returned"
        log.error("background task died", exc_info=error, extra={"task": task.get_name()})

    async def cancel_background(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


T = TypeVar("T")


def _needed(resource: T | None, spec: ServiceSpec, what: str) -> T:
    if resource is None:
        raise RuntimeError(f"{spec.name}'s spec does not ask for {what}")
    return resource


@dataclass(frozen=True)
class Bound:
    """Where a started service listens (ports resolved when 0 was asked)."""

    grpc: str  # "" when the process serves no gRPC
    http: str


def ports(spec: ServiceSpec, settings: Settings) -> tuple[int | None, int]:
    """The gRPC and probe ports to bind: the settings', else the spec's defaults."""
    grpc_port = settings.grpc_port if settings.grpc_port is not None else spec.grpc_port
    http_port = settings.http_port if settings.http_port is not None else spec.http_port
    return (None if spec.grpc_port is None else grpc_port), http_port


async def serve(
    spec: ServiceSpec,
    settings: Settings,
    *,
    stop: asyncio.Event,
    on_ready: Callable[[Bound], None] | None = None,
) -> None:
    """Open what `spec` needs, run its setup, serve until `stop`, then drain and close."""
    if Need.DATABASE in spec.needs and not settings.database_url:
        raise SystemExit(f"{spec.name} needs SWITCHYARD_DATABASE_URL")
    if Need.BUS in spec.needs and not settings.nats_url:
        raise SystemExit(f"{spec.name} needs SWITCHYARD_NATS_URL")
    grpc_port, http_port = ports(spec, settings)
    ready = False

    async def is_ready() -> str:
        if not ready:
            return "starting" if not stop.is_set() else "stopping"
        if runtime._bus is not None and not runtime._bus.connected:
            return "NATS disconnected"
        if runtime._db is not None and not await runtime._db.reachable():
            return "database unreachable"
        if runtime.dead:
            return "loops died: " + ", ".join(f"{n} ({e})" for n, e in sorted(runtime.dead.items()))
        return ""

    async with AsyncExitStack() as stack:
        runtime = Runtime(spec, settings, stack, stop)
        await _open_needs(runtime)
        health_servicer = None
        interceptors = spec.load_interceptors()
        if settings.auth:
            jwt = None
            if settings.oidc_issuer:
                from switchyard.core.oidc import OidcVerifier

                jwt = OidcVerifier(settings).principal
            runtime.verifier = Verifier(_ask_tracking(runtime), jwt=jwt)
            interceptors.insert(0, AuthInterceptor(runtime.verifier))
        if grpc_port is not None:
            runtime._server, health_servicer = build_server(interceptors)
        stack.push_async_callback(runtime.cancel_background)
        await spec.load_setup()(runtime)
        bound_grpc = ""
        if runtime._server is not None and grpc_port is not None:
            enable_reflection(runtime._server, spec.grpc_services)
            port = _add_port(runtime._server, f"{settings.host}:{grpc_port}", settings)
            await runtime._server.start()
            stack.push_async_callback(runtime._server.stop, 0)
            bound_grpc = f"{settings.host}:{port}"
            for callback in runtime._on_bound:
                callback(bound_grpc)
        if runtime._relay is not None:
            runtime.background(runtime._relay.run(), "outbox-relay")
        probes = await stack.enter_async_context(
            ProbeServer(settings.host, http_port, is_ready, metrics_public=settings.metrics_public)
        )
        if health_servicer is not None:
            for name in ("", *spec.grpc_services):
                await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        ready = True
        bound = Bound(bound_grpc, f"http://{settings.host}:{probes.port}")
        log.info("service ready", extra={"grpc": bound.grpc, "http": bound.http})
        if on_ready is not None:
            on_ready(bound)
        await stop.wait()
        # Drain: stop taking new work, let in-flight RPCs finish.
        ready = False
        if health_servicer is not None and runtime._server is not None:
            await health_servicer.enter_graceful_shutdown()
            log.info("draining", extra={"grace_s": settings.drain_seconds})
            await runtime._server.stop(settings.drain_seconds)
        if runtime._main is not None:
            await runtime._main  # its error, if any, is the process's


def _add_port(server: grpc.aio.Server, address: str, settings: Settings) -> int:
    """TLS (mutual when client auth is on) with a certificate, else plaintext."""
    tls = ServerTls.of(settings)
    if tls is None:
        return server.add_insecure_port(address)
    return server.add_secure_port(address, tls.grpc_credentials())


def _ask_tracking(runtime: Runtime) -> Callable[[str], Coroutine[Any, Any, Principal]]:
    """A token's record, asked of the tracking service with the token itself
    (AccessService.WhoAmI): how a service other than tracking verifies."""
    from switchyard.proto.v1 import access_pb2
    from switchyard.sdk.rpcs import access
    from switchyard.sdk.transport import AsyncTransport

    # Made on the first call, not now: under the test harness the services
    # start together and tracking's address is known only once all are up.
    transports: list[AsyncTransport] = []

    async def close() -> None:
        for transport in transports:
            await transport.close()

    runtime.stack.push_async_callback(close)

    async def lookup(token: str) -> Principal:
        if not transports:
            transports.append(AsyncTransport(runtime.settings, interceptors=[]))
        stub = transports[0].stub(access.SERVICE)
        try:
            reply = await stub.WhoAmI(
                access_pb2.WhoAmIRequest(),
                metadata=(authorization(token),),
                timeout=10,
            )
        except grpc.RpcError as exc:
            from switchyard.errors import from_rpc_error

            raise from_rpc_error(exc) from None
        return Principal.of(reply.info)

    return lookup


async def _open_needs(runtime: Runtime) -> None:
    spec, settings, stack = runtime.spec, runtime.settings, runtime.stack
    if Need.DATABASE in spec.needs:
        runtime._db = await stack.enter_async_context(
            Database(
                settings.database_url or "",
                settings.schema_for(spec.name),
                min_size=settings.db_pool_min,
                max_size=settings.db_pool_max,
            )
        )
        outbox = [OUTBOX_MIGRATION, AUDIT_MIGRATION] if Need.OUTBOX in spec.needs else []
        own = [spec.migrations_dir] if spec.migrations_dir is not None else []
        await runtime._db.migrate([*outbox, *own])
    if Need.BUS in spec.needs:
        runtime._bus = await stack.enter_async_context(
            Bus(
                settings.nats_url or "",
                namespace=settings.namespace,
                name=f"switchyard-{spec.name}",
                tls=ClientTls.of(settings),
            )
        )
        await runtime._bus.ensure_events_stream(
            max_age_days=settings.events_max_age_days, replicas=settings.events_replicas
        )
    if Need.OUTBOX in spec.needs:
        relay = OutboxRelay(runtime.db, runtime.bus)
        runtime._outbox = Outbox()
        runtime._outbox.on_commit = relay.wake
        runtime._relay = relay


def run(spec: ServiceSpec, settings: Settings | None = None) -> None:
    """Run a service (or a worker) until SIGTERM or SIGINT."""
    settings = settings or Settings()
    logs.configure(spec.name, level=settings.log_level, fmt=settings.log_format)
    provider = telemetry.setup_tracing(spec.name, settings.otlp_endpoint)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _on_stop_signal, stop, settings.stop_deadline_seconds)
        await serve(spec, settings, stop=stop)
        log.info("stopped")

    try:
        _run_loop(main(), uvloop=spec.uvloop)
    finally:
        provider.shutdown()


def _on_stop_signal(stop: asyncio.Event, deadline_s: float) -> None:
    """The first signal starts a graceful stop bounded by `deadline_s`; a second
    one means now (Ctrl-C twice)."""
    if stop.is_set():
        log.warning("second stop signal: exiting now")
        os._exit(1)
    stop.set()
    # A thread, not the loop: a close stuck in a synchronous call (or a loop
    # that never comes back to its timers) must not hold the process.
    loop = asyncio.get_running_loop()
    timer = threading.Timer(deadline_s, _stop_overdue, args=(loop, deadline_s))
    timer.daemon = True
    timer.start()


def _stop_overdue(loop: asyncio.AbstractEventLoop, deadline_s: float) -> None:
    """Exit, logging where each task still waits (what held the stop)."""
    try:
        waiting = sorted(_where(task) for task in asyncio.all_tasks(loop))
    except RuntimeError:  # the loop changed its task set meanwhile
        waiting = []
    log.error("stop overdue: exiting", extra={"deadline_s": deadline_s, "waiting": waiting})
    logging.shutdown()
    os._exit(1)


def _where(task: asyncio.Task[Any]) -> str:
    """`name: outer() file:line > ... > inner() file:line`, the awaits it is suspended in."""
    chain: list[str] = []
    coro: Any = task.get_coro()
    while coro is not None and getattr(coro, "cr_frame", None) is not None:
        code, frame = coro.cr_code, coro.cr_frame
        chain.append(f"{code.co_qualname}() {Path(code.co_filename).name}:{frame.f_lineno}")
        coro = coro.cr_await
    return f"{task.get_name()}: " + " > ".join(chain[-4:])


def _run_loop(main: Coroutine[Any, Any, None], *, uvloop: bool) -> None:
    """uvloop where it exists (not on Windows): the scheduler bench ran about a
    tenth faster with the services on it. The worker keeps asyncio's loop: on
    uvloop it used no less CPU, and starting job processes through libuv was
    slower."""
    if uvloop:
        try:
            import uvloop as _uvloop
        except ImportError:
            pass
        else:
            _uvloop.run(main)
            return
    asyncio.run(main)
