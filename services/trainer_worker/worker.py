"""A trainer-worker: joins a pool, pulls the jobs that fit it, runs them.

    switchyard worker [--pool NAME] [--cpus N] [--gpus N] [--memory MB]

(`main.py` builds it from settings; the shared runner runs it.)

It finds the platform as the SDK does (endpoints.json, SWITCHYARD_ADDRESS,
...), registers its resources with the scheduler, and pulls from the
pool's work-queue stream whenever it has room. A message it cannot fit
goes back (nak) for another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import re
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import nats.errors
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from switchyard.core.bus import Bus
from switchyard.core.config import Settings
from switchyard.core.jobs import CONSUMER, ensure_jobs_stream, jobs_stream, jobs_subject
from switchyard.core.reaper import Reaper
from switchyard.errors import PermissionDenied, SwitchyardError
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.proto.v1 import scheduler_pb2_grpc as rpc
from switchyard.sdk.async_client import AsyncClient
from switchyard.sdk.channels import async_channel
from switchyard.sdk.endpoints import discover, find_token
from switchyard.services.trainer_worker.execution import Execution
from switchyard.services.trainer_worker.heartbeat import Heartbeat
from switchyard.services.trainer_worker.reports import Reports
from switchyard.services.trainer_worker.resources import Ledger

log = logging.getLogger(__name__)
NAK_DELAY_S = 0.5
# The jobs' token: made at start and again every week; each lives 30 days, so a
# job started just before a rotation can run 23 days on it.
JOBS_TOKEN_S = 30 * 86400
JOBS_TOKEN_ROTATE_S = 7 * 86400
FETCH_MAX = 4


class Worker:
    def __init__(
        self,
        settings: Settings,
        *,
        pool: str = "default",
        ledger: Ledger | None = None,
        grace_s: float = 10.0,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.endpoints = discover(settings)
        self.token = find_token(settings)
        self.pool = pool
        self.ledger = ledger or Ledger.detect()
        self.grace_s = grace_s
        self.host = settings.advertise_host or (
            socket.gethostname() if settings.host == "0.0.0.0" else "127.0.0.1"
        )
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
        self.running: dict[str, Execution] = {}
        self._taken = itertools.count()
        self._room = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.workdir = Path(tempfile.mkdtemp(prefix="switchyard-worker-"))

    async def run(self, stop: asyncio.Event) -> None:
        if not self.endpoints.nats:
            raise SystemExit("no NATS URL: start the platform with `switchyard up` or set one")
        tls = self.endpoints.client_tls
        channel = async_channel(
            self.endpoints.address("scheduler"), self.settings, token=self.token, tls=tls
        )
        self.stub = rpc.SchedulerServiceStub(channel)
        self.reports = Reports(self.stub)
        self.tracking = AsyncClient(settings=self.settings)
        bus = Bus(
            self.endpoints.nats, namespace=self.endpoints.namespace, name=self.worker_id, tls=tls
        )
        try:
            async with self._jobs_token():
                with Reaper() as self.reaper:
                    async with bus:
                        await self._serve(bus, stop)
        finally:  # after the jobs ended: their last reports go through it
            await channel.close()

    @contextlib.asynccontextmanager
    async def _jobs_token(self) -> AsyncIterator[None]:
        """What the jobs' own SDK calls carry: an editor's token made by this
        worker, never the worker's own (the platform's admin token would let any
        job an editor submits make admin tokens). A fresh one every
        JOBS_TOKEN_ROTATE_S for the jobs started from then on; each lives
        JOBS_TOKEN_S, and those still alive are revoked when the worker stops.
        A worker whose token may not make tokens (an editor's) hands its own
        on: its jobs can do no more than it can."""
        self.job_token = self.token
        made: list[str] = []

        async def make() -> bool:
            name = re.sub(r"[^A-Za-z0-9._@-]", "-", f"jobs@{self.worker_id}")[:100]
            try:
                new = await self.tracking.create_token(
                    name, role="editor", expires_in_s=JOBS_TOKEN_S
                )
            except PermissionDenied:
                log.info("the worker's token may not make tokens: its jobs get it")
                return False
            self.job_token = new.secret
            made.append(new.info.token_id)
            return True

        async def rotate() -> None:
            while True:
                await asyncio.sleep(JOBS_TOKEN_ROTATE_S)
                with contextlib.suppress(SwitchyardError):  # tried again next time
                    await make()

        rotating = None
        if self.token and await make():
            rotating = asyncio.create_task(rotate(), name="jobs-token")
        try:
            yield
        finally:
            if rotating is not None:
                rotating.cancel()
            for token_id in made:
                with contextlib.suppress(SwitchyardError):
                    await self.tracking.revoke_token(token_id)

    async def _serve(self, bus: Bus, stop: asyncio.Event) -> None:
        """Register, pull jobs until `stop`, then hand the running ones back."""
        namespace = self.endpoints.namespace
        await self.register()
        sub = await self._bind(bus)
        beat = Heartbeat(self.worker_id, self.stub, self.running, self.register)
        beat_task = asyncio.create_task(beat.run())
        log.info(
            "worker ready",
            extra={
                "worker_id": self.worker_id,
                "pool": self.pool,
                "subject": jobs_subject(self.pool, namespace),
            },
        )
        try:
            await self._pull(bus, sub, stop)
        finally:
            log.info("worker stopping", extra={"worker_id": self.worker_id})
            beat_task.cancel()
            # Jobs go back to the queue, not to CANCELLED: a rollout or a
            # scale-down must not lose them.
            for execution in list(self.running.values()):
                execution.hand_back()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=self.grace_s + 5)
            with contextlib.suppress(Exception):
                await self.tracking.close()
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
            log.info("worker stopped", extra={"worker_id": self.worker_id})

    async def register(self) -> None:
        await self.stub.RegisterWorker(
            pb.RegisterWorkerRequest(
                worker_id=self.worker_id,
                pool=self.pool,
                capacity=self.ledger.capacity(),
                host=self.host,
            ),
            timeout=10,
        )

    async def _bind(self, bus: Bus) -> JetStreamContext.PullSubscription:
        namespace = self.endpoints.namespace
        await ensure_jobs_stream(bus.js, self.pool, namespace)
        return await bus.js.pull_subscribe_bind(CONSUMER, stream=jobs_stream(self.pool, namespace))

    async def _pull(
        self, bus: Bus, sub: JetStreamContext.PullSubscription, stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            if not self.ledger.has_room():
                self._room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), 1.0)
                continue
            try:
                # A few at a time when there is room for several small jobs.
                room = self.ledger.cpus - self.ledger.used_cpus
                msgs = await sub.fetch(max(1, min(FETCH_MAX, int(room))), timeout=1.0)
            except (NatsTimeout, TimeoutError):
                continue  # nothing queued (a batch fetch raises the builtin kind)
            except nats.errors.Error as exc:  # reconnecting: keep the jobs, try again
                log.warning("fetch failed", extra={"error": repr(exc)})
                await asyncio.sleep(0.5)
                if bus.connected:  # NATS may be back without the stream: make it again
                    with contextlib.suppress(nats.errors.Error):
                        old, sub = sub, await self._bind(bus)
                        await old.unsubscribe()
                continue
            for msg in msgs:
                await self._take(msg)

    async def _take(self, msg: Msg) -> None:
        release = pb.JobRelease.FromString(msg.data)
        need = release.spec.resources
        if not self.ledger.fits(need):
            await msg.nak(delay=NAK_DELAY_S)
            return
        gpus = self.ledger.take(need)
        execution = Execution(
            msg,
            release,
            stub=self.stub,
            reports=self.reports,
            tracking=self.tracking,
            endpoints=self.endpoints,
            worker_id=self.worker_id,
            host=self.host,
            workdir=self.workdir,
            gpus=gpus,
            grace_s=self.grace_s,
            reaper=self.reaper,
            token=self.job_token,
            pool=self.pool,
        )
        # One key per message taken: after a gang restart this worker may run the
        # same rank of the old attempt (stopping) and of the new one at once.
        key = f"{release.job_id}/{release.rank}#{next(self._taken)}"
        self.running[key] = execution
        task = asyncio.create_task(self._run(key, execution, need, gpus))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, key: str, execution: Execution, need: pb.Resources, gpus: list[int]
    ) -> None:
        try:
            await execution.run()
        except Exception:
            log.exception("job execution failed", extra={"job_id": execution.job_id})
            with contextlib.suppress(Exception):
                await execution.msg.nak(delay=1.0)
        finally:
            self.running.pop(key, None)
            self.ledger.give(need, gpus)
            self._room.set()
