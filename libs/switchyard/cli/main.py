"""The `switchyard` command."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from switchyard import __version__
from switchyard.cli import events_cmd, jobs_cmd, models_cmd, tracking_cmd
from switchyard.core.config import Settings

app = typer.Typer(
    help="Switchyard: experiment tracking, registry, jobs and serving, with events.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(tracking_cmd.experiments, name="experiments")
app.add_typer(tracking_cmd.runs, name="runs")
app.add_typer(events_cmd.events, name="events")
app.add_typer(models_cmd.models, name="models")
app.add_typer(jobs_cmd.jobs, name="jobs")
app.add_typer(jobs_cmd.pipelines, name="pipelines")
app.command("worker")(jobs_cmd.worker)
console = Console()


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


@app.command()
def up(
    home: Annotated[
        Path | None, typer.Option(help="Data folder (default $SWITCHYARD_HOME or ./.switchyard)")
    ] = None,
    object_store: Annotated[
        str, typer.Option(help="Artifacts in a 'local' folder or an embedded 's3' server")
    ] = "local",
    demo: Annotated[bool, typer.Option(help="Log a demo run once the platform is up")] = False,
) -> None:
    """Start the whole platform on this machine; Ctrl-C stops it and keeps the data."""
    from switchyard.dev.up import Platform

    if object_store not in ("local", "s3"):
        raise typer.BadParameter("must be 'local' or 's3'", param_hint="--object-store")
    settings = Settings()
    platform = Platform(
        home or settings.home,
        object_store=object_store,
        progress=lambda msg: console.print(f"[dim]… {msg}[/dim]"),
    )
    stopping = False

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started = time.perf_counter()
    try:
        endpoints = platform.start()
        took = time.perf_counter() - started
        table = Table(title=f"Switchyard is up ({took:.1f}s) — home {platform.home}")
        table.add_column("endpoint")
        table.add_column("address")
        for name, address in endpoints.grpc.items():
            table.add_row(f"{name} (gRPC)", address)
        for name, url in endpoints.http.items():
            label = "MLflow REST API" if name == "web" else "health, metrics"
            table.add_row(f"{name.removesuffix('-probes')} ({label})", url)
        table.add_row("NATS", endpoints.nats or "")
        table.add_row("PostgreSQL", endpoints.database or "")
        table.add_row("artifacts", endpoints.artifact_root or "")
        console.print(table)
        if demo:
            from switchyard.cli.demo import run_demo

            run_demo(console, Settings(home=platform.home))
        console.print("[green]ready[/green] — Ctrl-C to stop")
        platform.wait()
    except KeyboardInterrupt:
        stopping = True
    finally:
        # A second Ctrl-C (or SIGTERM) must not cut the stop short and orphan the children.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        console.print("[dim]stopping…[/dim]" if stopping else "[red]stopping after an error[/red]")
        platform.stop()


def _service_names() -> str:
    from switchyard.core.service_spec import services

    return ", ".join(s.name for s in services())


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"One of: {_service_names()}")],
) -> None:
    """Run one service against external NATS and PostgreSQL (what Kubernetes runs)."""
    from switchyard.core.runner import run
    from switchyard.core.service_spec import spec

    try:
        found = spec(service)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]), param_hint="SERVICE") from None
    if found.role != "service":
        raise typer.BadParameter(f"{service} is started by `switchyard {service.split('-')[-1]}`")
    run(found)


if __name__ == "__main__":
    app()
