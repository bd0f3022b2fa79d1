"""One job message on one worker: start report, tracking run, process, finish report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path

import grpc
from nats.aio.msg import Msg
from opentelemetry import propagate, trace

from switchyard.core.artifacts import open_store
from switchyard.core.processes import ChildProcess
from switchyard.core.reaper import Reaper
from switchyard.core.telemetry import context_from_headers
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.proto.v1 import scheduler_pb2_grpc as rpc
from switchyard.sdk.async_client import AsyncClient
from switchyard.sdk.endpoints import Endpoints, settings_for_artifacts
from switchyard.services.trainer_worker import metrics
from switchyard.services.trainer_worker.job_run import JobRun
from switchyard.services.trainer_worker.joblog import JobLog
from switchyard.services.trainer_worker.reports import Reports

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("switchyard.worker")
GANG_WAIT_S = 120.0
HANDED_BACK = "worker stopping"  # why a job stopped when its worker shut down


class _Refused(Exception):
    """The job must not run on this worker (a rerun whose code differs here)."""


class Execution:
    def __init__(
        self,
        msg: Msg,
        release: pb.JobRelease,
        *,
        stub: rpc.SchedulerServiceStub,
        reports: Reports,
        tracking: AsyncClient,
        endpoints: Endpoints,
        worker_id: str,
        host: str,
        workdir: Path,
        gpus: list[int],
        grace_s: float,
        reaper: Reaper,
        token: str | None = None,
        pool: str = "default",
    ) -> None:
        self.msg = msg
        self.pool = pool  # the worker's, for its metrics
        self.token = token  # what the job's own SDK calls carry, unless its spec names one
        self.release = release
        self.spec = release.spec
        self.job_id = release.job_id
        self.rank = release.rank
        self.attempt = 0
        self.stub = stub
        self.reports = reports
        self.tracking = tracking
        self.endpoints = endpoints
        self.worker_id = worker_id
        self.host = host
        self.workdir = workdir
        self.gpus = gpus
        self.grace_s = grace_s
        self.reaper = reaper
        self.process: ChildProcess | None = None
        self._stop_why = ""  # the first stop asked for: "cancelled" or HANDED_BACK
        self._stopping: asyncio.Task[None] | None = None

    def cancel(self) -> None:
        """The user cancelled the job: stop it and report it CANCELLED."""
        self._stop("cancelled")

    def hand_back(self) -> None:
        """This worker is shutting down: stop the job without reporting it, and
        give its message back (nak) so another worker runs the next attempt at
        once. The scheduler counts it as a worker loss, not a failed attempt."""
        self._stop(HANDED_BACK)

    def _stop(self, why: str) -> None:
        self._stop_why = self._stop_why or why
        if self.process is not None and self._stopping is None:
            self._stopping = asyncio.create_task(
                self.process.stop(self._stop_why, grace=self.grace_s)
            )

    async def run(self) -> None:
        """Run the job inside its submitter's trace (the release carries it), so
        one trace goes from `sy.submit_job` through here into the job's own calls."""
        parent = context_from_headers(self.release.trace)
        name = f"job {self.spec.name or self.job_id}"
        with _tracer.start_as_current_span(
            name, context=parent, kind=trace.SpanKind.CONSUMER
        ) as span:
            span.set_attribute("switchyard.job_id", self.job_id)
            span.set_attribute("switchyard.rank", self.rank)
            await self._run()

    async def _run(self) -> None:
        start = await self._start()
        if start is None:
            await self.msg.ack()
            return
        self.attempt = start.attempt
        env = self._env(start)
        cwd = Path(self.spec.workdir or os.getcwd())
        jobrun = JobRun(self.tracking, self.spec, self.job_id, self.attempt, self.rank)
        if run_id := await jobrun.open(env, cwd):
            env["SWITCHYARD_RUN_ID"] = run_id
        path = self.workdir / f"{self.job_id}-{self.attempt}-{self.rank}.log"
        joblog = JobLog(self.stub, path, self.job_id, self.attempt, self.rank)
        code, reason = -1, ""
        pool = self.pool
        try:
            if refused := await jobrun.refusal(cwd):
                raise _Refused(refused)
            self.process = await ChildProcess.start(
                list(self.spec.command),
                env=env,
                cwd=self.spec.workdir or None,
                sink=joblog.write,
                reaper=self.reaper,
            )
            metrics.STARTS.labels(pool).inc()
            metrics.RUNNING.labels(pool).inc()
            try:
                if self._stop_why:  # asked before the process existed
                    await self.process.stop(self._stop_why, grace=self.grace_s)
                code = await self.process.wait(self.spec.timeout_s or None)
                reason = self.process.stopped_by
            finally:
                metrics.RUNNING.labels(pool).dec()
        except (OSError, _Refused) as exc:
            joblog.write("stderr", f"switchyard: could not start the job: {exc}\n")
            reason = f"error: {exc}"
        finally:
            await joblog.close()
        metrics.FINISHES.labels(pool, metrics.outcome(code, reason, HANDED_BACK)).inc()
        await self._close_run(jobrun, code, reason, joblog)
        if reason == HANDED_BACK:  # not when it ended by itself meanwhile
            await self.msg.nak()
        else:
            # only rank 0's run is the job's run; the others are its children
            await self._finish(code, reason, run_id if self.rank == 0 else "")
            await self.msg.ack()
        with contextlib.suppress(OSError):
            path.unlink()

    async def _start(self) -> pb.StartJobResponse | None:
        """Ask the scheduler; gang members wait here for rank 0. None: drop the message.

        The release's generation lets the scheduler refuse a stale one: a rank
        released before the job was released again (a gang restart) must not
        join the new attempt.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GANG_WAIT_S
        req = pb.StartJobRequest(
            job_id=self.job_id,
            rank=self.rank,
            worker_id=self.worker_id,
            host=self.host,
            generation=self.release.generation,
        )
        while True:
            reply = await self.reports.start(req)
            if reply.proceed:
                return reply
            if not reply.wait or loop.time() > deadline:
                return None
            await self.msg.in_progress()
            await asyncio.sleep(0.1)

    def _env(self, start: pb.StartJobResponse) -> dict[str, str]:
        # the worker's own token (its env, or the home's file) stays the worker's;
        # the job calls with the one its spec names, else the one it was handed
        env = {k: v for k, v in os.environ.items() if k != "SWITCHYARD_TOKEN"}
        env.update(self.spec.env)
        if self.token:
            env.setdefault("SWITCHYARD_TOKEN", self.token)
        env["SWITCHYARD_JOB_ID"] = self.job_id
        env["SWITCHYARD_JOB_ATTEMPT"] = str(self.attempt)
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in self.gpus)
        env["SWITCHYARD_OUTPUTS"] = str(self._outputs_path())
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # this job's span: the process's calls join it
        for key in ("traceparent", "tracestate"):
            env.pop(key.upper(), None)
            if key in carrier:
                env[key.upper()] = carrier[key]
        if self.spec.gang_size > 1:
            env.update(
                RANK=str(self.rank),
                LOCAL_RANK="0",
                WORLD_SIZE=str(self.spec.gang_size),
                MASTER_ADDR=start.master_addr,
                MASTER_PORT=str(start.master_port),
            )
        return env

    def _outputs_path(self) -> Path:
        return self.workdir / f"{self.job_id}-{self.attempt}-{self.rank}.outputs.json"

    def _outputs(self) -> dict[str, str]:
        """What the job wrote to $SWITCHYARD_OUTPUTS: a JSON object, values made strings."""
        path = self._outputs_path()
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
        if not isinstance(raw, dict):
            return {}
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}

    async def _close_run(self, jobrun: JobRun, code: int, reason: str, joblog: JobLog) -> None:
        try:
            if jobrun.run_id:
                status = "FINISHED" if code == 0 and not reason else "FAILED"
                if reason in ("cancelled", HANDED_BACK):
                    status = "KILLED"
                await jobrun.close(joblog.path, status)
            elif self.endpoints.artifact_root and joblog.written:  # empty: nothing to keep
                root = f"{self.endpoints.artifact_root}/jobs/{self.job_id}"
                store = open_store(
                    root, settings_for_artifacts(self.tracking.settings, self.endpoints)
                )
                await asyncio.to_thread(store.upload_file, joblog.path, None)
        except Exception:
            log.exception("could not keep the job's log", extra={"job_id": self.job_id})

    async def _finish(self, code: int, reason: str, run_id: str) -> None:
        req = pb.FinishJobRequest(
            job_id=self.job_id,
            rank=self.rank,
            attempt=self.attempt,
            worker_id=self.worker_id,
            exit_code=code,
            reason=reason,
            run_id=run_id,
            outputs=self._outputs(),
        )
        for delay in (0.2, 0.5, 1, 2, 5, 10):
            try:
                await self.reports.finish(req)
                return
            except grpc.aio.AioRpcError as exc:
                log.warning("finish report failed; retrying", extra={"error": exc.code().name})
                await asyncio.sleep(delay)
                await self.msg.in_progress()
