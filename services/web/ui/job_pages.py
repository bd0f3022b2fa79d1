"""Jobs and pipelines: the scheduler's queued work, a job's live log, a pipeline's DAG.

    /jobs?state=S&queue=Q&name=N&n=100    jobs, newest first, with filters
    /jobs/<job id>                        a job: spec, attempts, its log (live), cancel
    POST /jobs/<job id>/cancel            cancels it, then back to its page (303)
    /jobs/queues                          queues: quotas and what their jobs hold and wait for
    /jobs/workers?pool=P                  live workers: pools, capacity, use, running jobs
    /pipelines                            pipelines, newest first
    /pipelines/<pipeline id>              its steps as a DAG, left to right by dependency

A job's log grows live in the page (static/app.js follows `sy.scheduler.job.log`);
a running pipeline's DAG is fetched again every few seconds (htmx).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from switchyard.core.ids import parse_hex_id
from switchyard.errors import InvalidArgument, NotFound
from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.sdk.rpcs import scheduler as rpc
from switchyard.services.web.backends import Backends
from switchyard.services.web.ui.render import backends, html_errors, page, same_origin

STATES = tuple(n.removeprefix("JOB_") for n in pb.JobState.keys() if n != "JOB_STATE_UNSPECIFIED")
FINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
LIMITS = (50, 100, 500, 1000)
LOG_CHARS = 1_000_000  # a page shows the tail of a longer log; the SDK and CLI have it whole
LOG_READS = 10  # GetJobLogs answers 10,000 pieces a call: a page reads at most this many calls
FAN_OUT_SHOWN = 20  # members of a fanned-out step listed by name; the rest are counted
# As the scheduler reads a step's dependencies (services/scheduler/pipelines.py):
# its `after`, and every step its inputs or `for_each` reference.
STEP_REF = re.compile(r"\{\{\s*steps\.([\w.-]+?)\.outputs\.([\w-]+)\s*\}\}")
# How a step whose members differ is shown: the first state here that one of them has.
STEP_PRECEDENCE = ("FAILED", "RUNNING", "RETRYING", "ADMITTED", "QUEUED", "CANCELLED", "SUCCEEDED")


def job_state(job: pb.Job) -> str:
    return pb.JobState.Name(job.state).removeprefix("JOB_")


def pipeline_state(pipeline: pb.Pipeline) -> str:
    return pb.PipelineState.Name(pipeline.state).removeprefix("PIPELINE_")


def resources(r: pb.Resources) -> str:
    """`2 CPU · 4.0 GB · 1 GPU (a100)`: what one process (one gang member) asked for."""
    parts = [f"{r.cpus:g} CPU"]
    if r.memory_mb:
        parts.append(f"{r.memory_mb / 1024:.1f} GB" if r.memory_mb >= 1024 else f"{r.memory_mb} MB")
    if r.gpus:
        parts.append(f"{r.gpus} GPU" + (f" ({r.gpu_type})" if r.gpu_type else ""))
    return " · ".join(parts)


def _hex_id(value: str, what: str) -> str:
    """A 32-hex id; anything else can name no entity, so it is the 404 page at once."""
    if parse_hex_id(value) is None:
        raise NotFound(f"no {what} with id {value!r}", entity=what)
    return value.lower()


async def get_job(b: Backends, job_id: str) -> pb.Job:
    request = pb.GetJobRequest(job_id=_hex_id(job_id, "job"))
    return (await b.call(rpc.GET_JOB, request)).job


def _limit(request: Request) -> int:
    raw = request.query_params.get("n", "100")
    return int(raw) if raw.isdigit() and int(raw) in LIMITS else 100


@html_errors
async def jobs(request: Request) -> Response:
    q = request.query_params
    state, queue, name = q.get("state", ""), q.get("queue", "").strip(), q.get("name", "").strip()
    ask = pb.ListJobsRequest(queue=queue, name=name, limit=_limit(request))
    error = ""
    if state in STATES:
        ask.states.append(pb.JobState.Value(f"JOB_{state}"))
    elif state:
        error = f"unknown state {state!r}: one of {', '.join(STATES)}"
    found: list[pb.Job] = []
    if not error:
        try:
            found = list((await backends(request).call(rpc.LIST_JOBS, ask)).jobs)
        except InvalidArgument as exc:  # shown above the table, beside the filters
            error = exc.message
    return page(
        request,
        "jobs.html",
        jobs=found,
        states=STATES,
        state=state,
        queue=queue,
        name=name,
        limits=LIMITS,
        limit=ask.limit,
        error=error,
        job_state=job_state,
        resources=resources,
    )


@dataclass
class LogTail:
    text: str = ""
    cut: bool = False  # its start is not shown
    finished: bool = False  # the job had ended: nothing more will come
    seq: int = 0  # the last piece read: a live page asks for what came after it


async def log_tail(b: Backends, job_id: str) -> LogTail:
    """The last LOG_CHARS of the job's output, read in the pieces GetJobLogs answers."""
    tail, seq = LogTail(), 0
    for _ in range(LOG_READS):
        reply = await b.call(rpc.GET_JOB_LOGS, pb.GetJobLogsRequest(job_id=job_id, after_seq=seq))
        tail.finished = reply.finished
        if not reply.text:
            return tail
        tail.seq = reply.last_seq
        tail.text += reply.text
        tail.cut = tail.cut or len(tail.text) > LOG_CHARS
        tail.text, seq = tail.text[-LOG_CHARS:], reply.last_seq
    tail.cut = True  # more than LOG_READS calls' worth: its end is not shown either
    return tail


@html_errors
async def job_page(request: Request) -> Response:
    b = backends(request)
    job = await get_job(b, request.path_params["job_id"])
    logs = await log_tail(b, job.job_id)
    state = job_state(job)
    return page(
        request,
        "job.html",
        job=job,
        state=state,
        final=state in FINAL,
        live=state not in FINAL,  # its log may have ended before its state did
        log=logs.text,
        seq=logs.seq,
        cut=logs.cut,
        command=shlex.join(job.spec.command),
        resources=resources(job.spec.resources),
    )


async def log_since(request: Request) -> Response:
    """What a job printed after piece `after_seq`, and its state now: what a live page
    missed while it opened (or reopened) its event stream."""
    raw = request.query_params.get("after_seq", "0")
    if not raw.isdigit():
        return JSONResponse({"error": "after_seq must be a number", "field": "after_seq"}, 400)
    b = backends(request)
    try:
        job_id = _hex_id(request.path_params["job_id"], "job")
        ask = pb.GetJobLogsRequest(job_id=job_id, after_seq=int(raw))
        # the log first: a state read after it is no older than the lines it had
        reply = await b.call(rpc.GET_JOB_LOGS, ask)
        job = await get_job(b, job_id)
    except NotFound as exc:
        return JSONResponse({"error": exc.message}, 404)
    body = {
        "text": reply.text,
        "last_seq": reply.last_seq,
        "finished": reply.finished,
        "state": job_state(job),
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@html_errors
async def cancel(request: Request) -> Response:
    if not same_origin(request):
        return page(request, "error.html", code=403, message="a cancel must come from this site")
    job_id = _hex_id(request.path_params["job_id"], "job")
    await backends(request).call(rpc.CANCEL_JOB, pb.CancelJobRequest(job_id=job_id))
    return RedirectResponse(f"/jobs/{job_id}", 303)


# -- queues and workers ----------------------------------------------------------


@html_errors
async def queues(request: Request) -> Response:
    reply = await backends(request).call(rpc.LIST_QUEUES, pb.ListQueuesRequest())
    return page(request, "queues.html", queues=list(reply.queues))


@dataclass
class Pool:
    """A pool's live workers added up: what it can run, and what runs on it now."""

    name: str
    workers: int = 0
    jobs: int = 0
    capacity: pb.Resources = field(default_factory=pb.Resources)
    used: pb.Resources = field(default_factory=pb.Resources)

    def add(self, worker: pb.Worker) -> None:
        self.workers += 1
        self.jobs += len(worker.jobs)
        for total, part in ((self.capacity, worker.capacity), (self.used, worker.used)):
            total.cpus += part.cpus
            total.memory_mb += part.memory_mb
            total.gpus += part.gpus


def pools(workers: list[pb.Worker]) -> list[Pool]:
    found: dict[str, Pool] = {}
    for w in workers:
        found.setdefault(w.pool, Pool(w.pool)).add(w)
    return sorted(found.values(), key=lambda p: p.name)


@html_errors
async def workers(request: Request) -> Response:
    pool = request.query_params.get("pool", "").strip()
    error = ""
    found: list[pb.Worker] = []
    try:
        reply = await backends(request).call(rpc.LIST_WORKERS, pb.ListWorkersRequest(pool=pool))
        found = list(reply.workers)
    except InvalidArgument as exc:  # a malformed pool name, shown beside the filter
        error = exc.message
    return page(
        request,
        "workers.html",
        workers=found,
        pools=pools(found),
        pool=pool,
        error=error,
        resources=resources,
        job_state=job_state,
    )


# -- pipelines -------------------------------------------------------------------


@html_errors
async def pipelines(request: Request) -> Response:
    reply = await backends(request).call(rpc.LIST_PIPELINES, pb.ListPipelinesRequest(limit=100))
    return page(
        request, "pipelines.html", pipelines=list(reply.pipelines), pipeline_state=pipeline_state
    )


@dataclass
class StepView:
    """A step as the DAG draws it: its column, what it needs, its runs (members)."""

    name: str
    needs: list[str]
    depth: int = 0
    runs: list[pb.StepRun] = field(default_factory=list)
    fan_out: bool = False
    ended: bool = False  # the pipeline ended or skipped it: a step that never ran never will

    @property
    def state(self) -> str:
        states = {r.state for r in self.runs}
        if not states:
            return "SKIPPED" if self.ended else "WAITING"
        return next((s for s in STEP_PRECEDENCE if s in states), sorted(states)[0])

    @property
    def cached(self) -> bool:
        return bool(self.runs) and all(r.cached for r in self.runs)

    def counts(self) -> list[tuple[str, int]]:
        states = [r.state for r in self.runs]
        return sorted((s, states.count(s)) for s in set(states))


def needs(step: pb.PipelineStep) -> list[str]:
    refs = [*step.inputs.values(), step.for_each]
    found = set(step.after) | {m.group(1) for v in refs for m in STEP_REF.finditer(v)}
    return sorted(found)


def dag(pipeline: pb.Pipeline) -> list[list[StepView]]:
    """The steps in columns: a step sits one column right of the deepest step it needs."""
    ended = pipeline.state != pb.PIPELINE_RUNNING
    steps = {
        s.name: StepView(s.name, needs(s), fan_out=bool(s.for_each), ended=ended)
        for s in pipeline.spec.steps
    }
    for run in pipeline.steps:
        if run.step not in steps:
            continue
        if run.state == "SKIPPED":  # a marker, not a run: the step never ran
            steps[run.step].ended = True
        else:
            steps[run.step].runs.append(run)
    depth: dict[str, int] = {}

    def place(name: str, seen: frozenset[str]) -> int:
        if name not in depth:  # the scheduler refuses cycles; `seen` guards a page anyway
            known = [n for n in steps[name].needs if n in steps and n not in seen]
            depth[name] = 1 + max((place(n, seen | {name}) for n in known), default=-1)
        return depth[name]

    columns: list[list[StepView]] = []
    for view in steps.values():
        view.depth = place(view.name, frozenset())
        while len(columns) <= view.depth:
            columns.append([])
        columns[view.depth].append(view)
    return columns


@html_errors
async def pipeline_page(request: Request) -> Response:
    pipeline_id = _hex_id(request.path_params["pipeline_id"], "pipeline")
    reply = await backends(request).call(
        rpc.GET_PIPELINE, pb.GetPipelineRequest(pipeline_id=pipeline_id)
    )
    pipeline = reply.pipeline
    return page(
        request,
        "pipeline.html",
        pipeline=pipeline,
        state=pipeline_state(pipeline),
        columns=dag(pipeline),
        shown=FAN_OUT_SHOWN,
    )


ROUTES: list[BaseRoute] = [
    Route("/jobs", jobs),
    Route("/jobs/queues", queues),  # before /jobs/<id>: an id is 32 hex digits, never these
    Route("/jobs/workers", workers),
    Route("/jobs/{job_id}", job_page),
    Route("/jobs/{job_id}/cancel", cancel, methods=["POST"]),
    Route("/ui/api/jobs/{job_id}/logs", log_since),
    Route("/pipelines", pipelines),
    Route("/pipelines/{pipeline_id}", pipeline_page),
]
