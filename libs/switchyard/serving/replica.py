"""A model replica: `python -m switchyard.serving.replica`, run by a worker as a service job.

It loads the model from the registry, serves the Open Inference Protocol over
REST (`replica_rest`, on `http.serve_http`) and gRPC (`replica_grpc`) on free
ports, and registers with the gateway's control plane, again every 2 s as a
heartbeat. The gateway answering known=False, or SIGTERM, ends it: it says
`stopping`, finishes what is in flight and exits 0. An unreachable gateway is
retried, never fatal.

Start-up is most of a scale-from-zero request's wait, so heavy modules (grpc,
the SDK, the model's framework) load lazily, the model loads in a thread while
the servers start, and registration follows the model at once.

Environment (set by the gateway in the job spec): SWITCHYARD_REPLICA_DEPLOYMENT,
SWITCHYARD_REPLICA_REVISION, SWITCHYARD_REPLICA_MODEL_URI,
SWITCHYARD_REPLICA_MAX_BATCH_SIZE, SWITCHYARD_REPLICA_MAX_BATCH_DELAY_MS,
SWITCHYARD_GATEWAY_ADDRESS, SWITCHYARD_JOB_ID, SWITCHYARD_ADVERTISE_HOST
(default 127.0.0.1), and for running one by hand SWITCHYARD_REPLICA_HTTP_PORT /
SWITCHYARD_REPLICA_GRPC_PORT (default 0: a free port).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from switchyard.serving.tensors import NotFoundError

if TYPE_CHECKING:
    from switchyard.serving.batcher import Batcher
    from switchyard.serving.model import ServedModel

log = logging.getLogger("switchyard.serving.replica")

HEARTBEAT_S = 2.0
DRAIN_TIMEOUT_S = 30.0
_STARTED = time.monotonic()  # when this module was imported


def _since_start() -> float:
    """Seconds since the process started (Linux: from /proc, 10 ms steps), for start-up logs."""
    try:
        with open("/proc/self/stat") as f:
            ticks = int(f.read().rpartition(")")[2].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return round(uptime - ticks / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError):
        return round(time.monotonic() - _STARTED, 3)


@dataclass(frozen=True)
class ReplicaSettings:
    deployment: str
    model_uri: str
    revision: int = 0
    max_batch_size: int = 1
    max_batch_delay_ms: float = 0.0
    gateway_address: str = ""
    job_id: str = ""
    advertise_host: str = "127.0.0.1"
    http_port: int = 0
    grpc_port: int = 0
    token: str = field(default="", repr=False)  # what its calls to the gateway carry

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReplicaSettings:
        def get(name: str, default: str = "") -> str:
            return env.get(f"SWITCHYARD_{name}", default)

        deployment, uri = get("REPLICA_DEPLOYMENT"), get("REPLICA_MODEL_URI")
        if not deployment or not uri:
            raise SystemExit(
                "SWITCHYARD_REPLICA_DEPLOYMENT and SWITCHYARD_REPLICA_MODEL_URI must be set"
            )
        return cls(
            deployment=deployment,
            model_uri=uri,
            revision=int(get("REPLICA_REVISION", "0") or 0),
            max_batch_size=int(get("REPLICA_MAX_BATCH_SIZE", "1") or 1),
            max_batch_delay_ms=float(get("REPLICA_MAX_BATCH_DELAY_MS", "0") or 0),
            gateway_address=get("GATEWAY_ADDRESS"),
            job_id=get("JOB_ID"),
            advertise_host=get("ADVERTISE_HOST", "127.0.0.1") or "127.0.0.1",
            http_port=int(get("REPLICA_HTTP_PORT", "0") or 0),
            grpc_port=int(get("REPLICA_GRPC_PORT", "0") or 0),
            token=get("TOKEN"),
        )

    @property
    def bind_host(self) -> str:
        # Reachable only where the gateway reaches it: loopback unless advertised elsewhere.
        return "127.0.0.1" if self.advertise_host in ("127.0.0.1", "localhost") else "0.0.0.0"


class Replica:
    """What REST and gRPC share: the model, its batcher, readiness and in-flight count."""

    def __init__(self, settings: ReplicaSettings) -> None:
        self.settings = settings
        self.name = settings.deployment
        self.model: ServedModel | None = None
        self.batcher: Batcher | None = None
        self.stopping = False
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def ready(self) -> bool:
        return self.model is not None and not self.stopping

    def attach(self, model: ServedModel) -> None:
        from switchyard.serving.batcher import Batcher

        s = self.settings
        self.batcher = Batcher(model.predict, s.max_batch_size, s.max_batch_delay_ms)
        self.model = model

    def resolve(self, name: str, version: str) -> ServedModel:
        """The model for an OIP name and optional version (NotFoundError otherwise)."""
        if name != self.name:
            raise NotFoundError(f"unknown model '{name}'; this replica serves '{self.name}'")
        model = self.model
        if model is None:
            raise NotReady(f"model '{name}' is loading")
        if version and version != model.version:
            raise NotFoundError(
                f"model '{name}' has no version '{version}'; it serves version '{model.version}'"
            )
        return model

    def begin(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def end(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()

    async def drained(self, within: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True


class NotReady(Exception):
    """The model is not loaded yet, or the replica is stopping: HTTP 503 / UNAVAILABLE."""


class Registration:
    """RegisterReplica now and every HEARTBEAT_S; `forgotten` once the gateway says known=False."""

    def __init__(self, replica: Replica, http_address: str, grpc_address: str) -> None:
        self.replica = replica
        self.http_address = http_address
        self.grpc_address = grpc_address
        self.forgotten = False
        self._stub: Any = None
        self._channel: Any = None
        address = replica.settings.gateway_address
        if address:
            from switchyard.core.config import Settings
            from switchyard.proto.v1 import gateway_pb2_grpc
            from switchyard.sdk.channels import async_channel
            from switchyard.sdk.endpoints import discover

            # TLS as its worker's SDK has it (the job inherits the worker's env)
            settings = Settings()
            self._channel = async_channel(
                address,
                settings,
                traced=False,
                token=replica.settings.token or None,
                tls=discover(settings).client_tls,
            )
            self._stub = gateway_pb2_grpc.InferenceGatewayServiceStub(self._channel)

    async def _call(self, deadline: float) -> bool | None:
        """The gateway's `known`, or None when it could not be reached."""
        from switchyard.proto.v1 import gateway_pb2
        from switchyard.serving import oip_grpc

        replica, s = self.replica, self.replica.settings
        model = replica.model
        assert model is not None
        request = gateway_pb2.RegisterReplicaRequest(
            deployment=s.deployment,
            revision=s.revision,
            job_id=s.job_id,
            http_address=self.http_address,
            grpc_address=self.grpc_address,
            metadata=oip_grpc.metadata_to_proto(
                s.deployment, [model.version], model.platform, model.inputs, model.outputs
            ),
            stopping=replica.stopping,
        )
        try:
            answer = await self._stub.RegisterReplica(request, timeout=deadline)
        except Exception as exc:  # grpc.aio.AioRpcError and friends: try again later
            log.warning(
                "gateway unreachable", extra={"gateway": s.gateway_address, "error": str(exc)}
            )
            return None
        return bool(answer.known)

    async def run(self, stop: asyncio.Event) -> None:
        if self._stub is None:
            log.info("no SWITCHYARD_GATEWAY_ADDRESS: not registering")
            return
        registered = False
        retry = 0.1
        while not stop.is_set():
            known = await self._call(deadline=HEARTBEAT_S)
            if known is False:
                log.info("the gateway no longer knows this replica: exiting")
                self.forgotten = True
                stop.set()
                return
            if known and not registered:
                registered = True
                log.info(
                    "replica registered",
                    extra={"startup_s": _since_start()},
                )
            # Until the first registration lands, retry sooner than the heartbeat.
            wait = HEARTBEAT_S if registered else retry
            retry = min(retry * 2, HEARTBEAT_S)
            try:
                await asyncio.wait_for(stop.wait(), wait)
            except TimeoutError:
                pass

    async def close(self) -> None:
        """Say `stopping` (when the gateway still knows this replica) and close the channel."""
        if self._stub is None:
            return
        if not self.forgotten:
            await self._call(deadline=HEARTBEAT_S)
        await self._channel.close()


async def serve(settings: ReplicaSettings) -> int:
    """Run until SIGTERM or the gateway forgets this replica; the exit status."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    replica = Replica(settings)
    from switchyard.serving.model import ServedModel

    # The model loads (imports, download, deserialise) while the servers start.
    loading = loop.run_in_executor(None, ServedModel.load, settings.model_uri, settings.deployment)
    from switchyard.serving.http import serve_http
    from switchyard.serving.replica_grpc import start_grpc
    from switchyard.serving.replica_rest import RestRoutes

    http = await serve_http(RestRoutes(replica), settings.bind_host, settings.http_port)
    grpc_server, grpc_port = await start_grpc(replica, settings.bind_host, settings.grpc_port)
    http_port = http.sockets[0].getsockname()[1]
    host = settings.advertise_host
    try:
        model = await loading
    except Exception:
        log.exception("model failed to load", extra={"model_uri": settings.model_uri})
        return 1
    replica.attach(model)
    log.info(
        "replica serving",
        extra={
            "deployment": settings.deployment,
            "model_uri": settings.model_uri,
            "model_version": model.version,
            "http_address": f"{host}:{http_port}",
            "grpc_address": f"{host}:{grpc_port}",
            "startup_s": _since_start(),
        },
    )
    registration = Registration(replica, f"{host}:{http_port}", f"{host}:{grpc_port}")
    heartbeat = loop.create_task(registration.run(stop))
    await stop.wait()
    replica.stopping = True
    log.info("replica stopping", extra={"in_flight": replica.in_flight})
    heartbeat.cancel()
    await registration.close()
    drained = await replica.drained(DRAIN_TIMEOUT_S)
    http.close()
    await grpc_server.stop(grace=1.0)
    if replica.batcher is not None:
        replica.batcher.close()
    log.info("replica stopped", extra={"drained": drained, "forgotten": registration.forgotten})
    return 0


def main(argv: list[str] | None = None) -> None:
    from switchyard.core import logs

    logs.configure("replica", level=os.environ.get("SWITCHYARD_LOG_LEVEL", "INFO"))
    settings = ReplicaSettings.from_env(os.environ)
    runner: Any
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    sys.exit(runner(serve(settings)))


if __name__ == "__main__":
    # Run the imported module, not this __main__ copy: replica_rest/replica_grpc catch the
    # module's NotReady, which a second copy of the classes would not match.
    from switchyard.serving.replica import main as _main

    _main()
