"""`switchyard jobs submit | ls | logs | cancel | retry | rerun` and `switchyard worker`."""

from __future__ import annotations

import os
import shlex
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from switchyard.cli.errors import reported
from switchyard.cli.tables import fold

if TYPE_CHECKING:
    from switchyard.sdk.jobs import Job, JobsClient
    from switchyard.sdk.scheduler_pipelines import PipelineRun

jobs = typer.Typer(help="Jobs on trainer-workers.", no_args_is_help=True)
console = Console()
JobArg = Annotated[str, typer.Argument(help="Job id")]


def _client() -> JobsClient:
    from switchyard.sdk.jobs import JobsClient

    with reported():
        return JobsClient()


@jobs.command("submit")
def submit(
    command: Annotated[list[str], typer.Argument(help="The command and its arguments (after --)")],
    name: Annotated[str | None, typer.Option(help="Job name")] = None,
    pool: Annotated[str, typer.Option(help="Worker pool")] = "default",
    queue: Annotated[str, typer.Option(help="Queue")] = "default",
    priority: Annotated[int, typer.Option(help="Higher goes first")] = 0,
    cpus: Annotated[float, typer.Option(help="CPUs per process")] = 1.0,
    memory: Annotated[str | None, typer.Option(help="Memory per process, e.g. 4G")] = None,
    gpus: Annotated[int, typer.Option(help="GPUs per process")] = 0,
    max_retries: Annotated[int, typer.Option(help="Retries after a failure")] = 0,
    timeout: Annotated[float | None, typer.Option(help="Seconds per attempt")] = None,
    gang_size: Annotated[int, typer.Option(help="Processes that start together")] = 1,
    experiment: Annotated[
        str | None, typer.Option("--experiment", "-e", help="Tracking experiment")
    ] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="KEY=VALUE (repeatable)")] = None,
    wait: Annotated[bool, typer.Option(help="Follow the logs until the job ends")] = False,
) -> None:
    """Submit a job: `switchyard jobs submit --gpus 1 -- python train.py`."""
    variables = _variables(env)
    with _client() as client:
        with reported(code=2):
            job = client.submit_job(
                command,
                name=name,
                pool=pool,
                queue=queue,
                priority=priority,
                cpus=cpus,
                memory=memory,
                gpus=gpus,
                max_retries=max_retries,
                timeout=timeout,
                gang_size=gang_size,
                experiment=experiment,
                env=variables,
            )
        console.print(job.id)
        if wait:
            _follow(job)


def _variables(env: list[str] | None) -> dict[str, str]:
    bad = [item for item in env or [] if "=" not in item or item.startswith("=")]
    if bad:
        raise typer.BadParameter(f"{bad[0]!r} is not KEY=VALUE", param_hint="--env")
    return dict(item.split("=", 1) for item in env or [])


def _follow(job: Job) -> None:
    """Show the job waiting for a worker, then its output; its end decides the exit code."""
    try:
        with console.status(f"{job.state.lower()}: waiting for a worker in its pool"):
            while job.refresh().state in ("QUEUED", "ADMITTED", "RETRYING"):
                time.sleep(0.2)
        for line in job.logs(follow=True):
            print(line, flush=True)
        job.wait()
    except KeyboardInterrupt:
        console.print(
            f"\nstopped following; job {job.id} goes on ({job.refresh().state})."
            f" `switchyard jobs cancel {job.id}` stops it."
        )
        raise typer.Exit(130) from None
    console.print(f"{job.state} (exit code {job.exit_code})")
    raise typer.Exit(0 if job.state == "SUCCEEDED" else 1)


@jobs.command("ls")
def ls(
    queue: Annotated[str | None, typer.Option(help="Only this queue")] = None,
    state: Annotated[list[str] | None, typer.Option(help="Only these states")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 50,
) -> None:
    """List jobs, newest first."""
    with _client() as client:
        table = Table()
        table.add_column("id", no_wrap=True)
        for column in ("name", "state", "attempt", "exit", "queue", "command"):
            table.add_column(column)
        for job in client.list_jobs(queue=queue, states=state, limit=limit):
            code = "" if job.exit_code is None else str(job.exit_code)
            cmd = shlex.join(job.spec.command)
            table.add_row(
                job.id, job.name, job.state, str(job.attempt), code, job.spec.queue, cmd[:60]
            )
        console.print(fold(table))


@jobs.command("logs")
def logs(
    job_id: JobArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until it ends")
    ] = False,
) -> None:
    """Print a job's output."""
    with _client() as client:
        with reported():
            job = client.get_job(job_id)
            if follow:
                for line in job.logs(follow=True):
                    print(line, flush=True)
            else:
                sys.stdout.write(job.logs())


@jobs.command("cancel")
def cancel(
    job_id: JobArg,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for a running job to stop")
    ] = 30.0,
) -> None:
    """Cancel a job (a running one gets SIGTERM, then SIGKILL after the grace period);
    prints its state once cancelled."""
    from switchyard.errors import DeadlineExceeded
    from switchyard.sdk.jobs import FINAL_STATES

    with _client() as client:
        with reported():
            job = client.get_job(job_id)
            if job.state in FINAL_STATES:
                console.print(f"job {job_id} already ended {job.state}: nothing to cancel")
                raise typer.Exit(1)
            job.cancel()
            try:
                if not job.done:  # it runs: its worker stops it and reports
                    with console.status("stopping it on its worker"):
                        job.wait(timeout=timeout)
            except DeadlineExceeded:
                console.print(f"{job.state}, cancel requested: its worker has not stopped it yet")
                raise typer.Exit(1) from None
            console.print(job.state)


@jobs.command("show")
def show(job_id: JobArg) -> None:
    """A job's state, attempts, resources, worker and command."""
    with _client() as client:
        with reported():
            job = client.get_job(job_id)
    spec, res = job.spec, job.spec.resources
    table = Table(show_header=False, show_edge=False)
    for key, value in (
        ("id", job.id),
        ("name", job.name),
        ("state", job.state + (f" ({job.message})" if job.message else "")),
        ("exit code", "" if job.exit_code is None else str(job.exit_code)),
        ("attempt", f"{job.attempt} (retries {job.retries}, worker losses {job.worker_losses})"),
        ("worker", job.worker_id),
        ("run", job.run_id),
        ("queue / pool", f"{spec.queue} / {spec.pool}"),
        ("resources", f"cpus {res.cpus:g}, memory {res.memory_mb} MB, gpus {res.gpus}"),
        ("command", shlex.join(spec.command)),
    ):
        table.add_row(key, value)
    console.print(fold(table))


@jobs.command("wait")
def wait(
    job_id: JobArg,
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds")] = None,
) -> None:
    """Wait until a job ends; exit 0 if it succeeded, 1 if not."""
    with _client() as client:
        with reported():
            job = client.get_job(job_id).wait(timeout=timeout)
    console.print(job.state)
    raise typer.Exit(0 if job.state == "SUCCEEDED" else 1)


@jobs.command("retry")
def retry(job_id: JobArg) -> None:
    """Submit a new job with the same spec as this one; prints its id."""
    with _client() as client:
        with reported():
            console.print(client.resubmit(job_id).id)


@jobs.command("rerun")
def rerun(
    job_id: JobArg,
    env: Annotated[
        list[str] | None, typer.Option("--env", help="KEY=VALUE to change (repeatable)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A new name")] = None,
    queue: Annotated[str | None, typer.Option(help="Another queue")] = None,
    priority: Annotated[int | None, typer.Option(help="Another priority")] = None,
    allow_code_change: Annotated[
        bool, typer.Option(help="Run even if the code is not the version the job ran")
    ] = False,
    wait: Annotated[bool, typer.Option(help="Follow the logs until the job ends")] = False,
) -> None:
    """Submit a job again with the code and parameters it ran with; prints the new id.

    A worker whose code is not the version the job's run recorded fails the
    rerun at start, unless --allow-code-change.
    """
    variables = _variables(env)
    with _client() as client:
        with reported(code=2):
            job = client.rerun(
                job_id,
                allow_code_change=allow_code_change,
                env=variables,
                name=name,
                queue=queue,
                priority=priority,
            )
        console.print(job.id)
        if wait:
            _follow(job)


def worker(
    pool: Annotated[str, typer.Option(help="Worker pool to join")] = "default",
    cpus: Annotated[float | None, typer.Option(help="CPUs to offer (default: all)")] = None,
    gpus: Annotated[int | None, typer.Option(help="GPUs to offer (default: nvidia-smi's)")] = None,
    memory: Annotated[str | None, typer.Option(help="Memory to offer, e.g. 16G")] = None,
    grace: Annotated[float, typer.Option(help="Seconds between SIGTERM and SIGKILL")] = 10.0,
    http_port: Annotated[
        int | None,
        typer.Option(help="Port of /livez, /readyz and /metrics (default: 7614, else a free one)"),
    ] = None,
) -> None:
    """Run a trainer-worker: pull jobs that fit this machine from the pool and run them."""
    from switchyard.core.config import Settings
    from switchyard.dev.ports import port_or_free
    from switchyard.errors import InvalidArgument
    from switchyard.sdk.jobs import parse_memory_mb
    from switchyard.services.trainer_worker.main import main
    from switchyard.services.trainer_worker.spec import SPEC

    env = Settings()
    try:
        memory_mb = parse_memory_mb(memory) if memory else env.worker_memory_mb
    except InvalidArgument as exc:
        raise typer.BadParameter(str(exc), param_hint="--memory") from None
    if gpus:
        from switchyard.services.trainer_worker.resources import detect_gpus

        found = len(detect_gpus())
        if found < gpus:  # offered anyway (a test pool, a driver not yet up), but said
            console.print(
                f"[yellow]warning:[/yellow] --gpus {gpus}, but nvidia-smi lists {found} here;"
                " jobs that get them will not find them"
            )
    # A person at a terminal reads lines, not JSON (collectors set SWITCHYARD_LOG_FORMAT).
    log_format = env.log_format
    if "SWITCHYARD_LOG_FORMAT" not in os.environ and sys.stderr.isatty():
        log_format = "console"
    # Its probe port: the spec's, or a free one where several workers share a host.
    if http_port is None:
        http_port = (
            env.http_port if env.http_port is not None else port_or_free(SPEC.http_port, env.host)
        )
    main(
        env.model_copy(
            update={
                "worker_pool": pool,
                "worker_cpus": cpus if cpus is not None else env.worker_cpus,
                "worker_gpus": gpus if gpus is not None else env.worker_gpus,
                "worker_memory_mb": memory_mb,
                "worker_grace_s": grace,
                "http_port": http_port,
                "log_format": log_format,
            }
        )
    )


pipelines = typer.Typer(help="Pipelines: DAGs of job steps.", no_args_is_help=True)


@pipelines.command("run")
def run_pipeline(
    target: Annotated[str, typer.Argument(help="module:attribute of a sy.Pipeline")],
    wait: Annotated[bool, typer.Option(help="Wait until it ends")] = False,
    cache: Annotated[
        bool, typer.Option(help="Reuse earlier successes of cached steps (--no-cache: run all)")
    ] = True,
) -> None:
    """Run a pipeline defined in Python: `switchyard pipelines run my_flows:etl`."""
    import importlib

    from switchyard.sdk.scheduler_pipelines import Pipeline
    from switchyard.sdk.scheduler_pipelines import run_pipeline as start

    sys.path.insert(0, ".")
    module, _, attr = target.partition(":")
    try:
        pipeline = getattr(importlib.import_module(module), attr or "pipeline")
    except (ImportError, AttributeError) as exc:
        raise typer.BadParameter(f"cannot load {target!r}: {exc}", param_hint="TARGET") from None
    if not isinstance(pipeline, Pipeline):
        raise typer.BadParameter(f"{target} is not a sy.Pipeline", param_hint="TARGET")
    with _client() as client:
        with reported(code=2):
            run = start(pipeline, cache=cache, client=client)
            console.print(run.id)
            if wait:
                run.wait()
                _show(run)
                raise typer.Exit(0 if run.state == "SUCCEEDED" else 1)


@pipelines.command("ls")
def list_pipelines(
    state: Annotated[
        list[str] | None,
        typer.Option(help="Only this state: RUNNING, SUCCEEDED, FAILED, CANCELLED (repeatable)"),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 50,
) -> None:
    """Pipeline runs, newest first."""
    from datetime import datetime

    with _client() as client:
        with reported():
            found = client.list_pipelines(state=state, limit=limit)
    table = Table("name", "state", "started", "took", "steps")
    table.add_column("id", no_wrap=True, min_width=32)
    for p in found:
        started = datetime.fromtimestamp(p.created_ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
        took = f"{(p.finished_ms - p.created_ms) / 1000:.1f}s" if p.finished_ms else ""
        table.add_row(p.name, p.state, started, took, ", ".join(p.step_names), p.id)
    console.print(fold(table))


@pipelines.command("cancel")
def cancel_pipeline(
    pipeline_id: Annotated[str, typer.Argument(help="Pipeline id")],
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for its running steps to stop")
    ] = 30.0,
) -> None:
    """Cancel a pipeline: its running steps stop (as `jobs cancel` stops a job),
    no other step starts; prints the state it reached."""
    from switchyard.errors import DeadlineExceeded

    with _client() as client:
        with reported():
            run = client.get_pipeline(pipeline_id)
            if run.done:
                console.print(
                    f"pipeline {pipeline_id} already ended {run.state}: nothing to cancel"
                )
                raise typer.Exit(1)
            run.cancel()
            try:
                if not run.done:  # its running steps' workers stop them and report
                    with console.status("stopping its running steps"):
                        run.wait(timeout=timeout)
            except DeadlineExceeded:
                console.print(f"{run.state}, cancel requested: its steps have not all stopped yet")
                raise typer.Exit(1) from None
            console.print(run.state)


@pipelines.command("show")
def show_pipeline(pipeline_id: Annotated[str, typer.Argument(help="Pipeline id")]) -> None:
    """A pipeline's state and its steps."""
    from switchyard.sdk.scheduler_pipelines import get_pipeline

    with _client() as client:
        with reported():
            _show(get_pipeline(pipeline_id, client=client))


def _show(run: PipelineRun) -> None:
    stopping = " (cancel requested)" if run.cancel_requested and not run.done else ""
    console.print(f"{run.id} {run.state}{stopping} {run.message}")
    table = Table()
    table.add_column("step")
    table.add_column("#")
    table.add_column("state")
    table.add_column("cached")
    table.add_column("key", no_wrap=True)  # the cache key's first 12 hex digits
    table.add_column("job", no_wrap=True)
    table.add_column("outputs")
    for s in run.steps:
        outputs = ", ".join(f"{k}={v}" for k, v in s.outputs.items())
        cached = "yes" if s.cached else ""
        table.add_row(s.step, str(s.index), s.state, cached, s.cache_key[:12], s.job_id, outputs)
    console.print(fold(table))
