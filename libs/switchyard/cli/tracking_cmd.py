"""`switchyard experiments` and `switchyard runs`: listings as tables."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from switchyard.errors import SwitchyardError

experiments = typer.Typer(help="Experiments.", no_args_is_help=True)
runs = typer.Typer(help="Runs.", no_args_is_help=True)
console = Console()
_COLOURS = {"RUNNING": "cyan", "FINISHED": "green", "FAILED": "red", "KILLED": "yellow"}


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


def _fail(exc: SwitchyardError) -> None:
    console.print(f"[red]error:[/red] {exc.message}")
    raise typer.Exit(1)


@experiments.command("ls")
def list_experiments(
    filter: Annotated[str, typer.Option(help="e.g. \"name LIKE 'fraud%'\"")] = "",
    all: Annotated[bool, typer.Option("--all", help="Include deleted experiments")] = False,
) -> None:
    """List experiments."""
    from switchyard.errors import SwitchyardError
    from switchyard.sdk.client import Client

    try:
        with Client() as client:
            found = client.search_experiments("all" if all else "active_only", filter_string=filter)
    except SwitchyardError as exc:
        _fail(exc)
    table = Table("id", "name", "created", "artifact location", "tags")
    for e in found:
        name = e.name if e.lifecycle_stage == "active" else f"[strike]{e.name}[/strike]"
        table.add_row(
            e.experiment_id,
            name,
            _when(e.creation_time),
            e.artifact_location,
            ", ".join(f"{k}={v}" for k, v in e.tags.items()),
        )
    console.print(table)


@runs.command("ls")
def list_runs(
    experiment: Annotated[
        str, typer.Option("--experiment", "-e", help="Experiment name or id")
    ] = "0",
    filter: Annotated[str, typer.Option(help='e.g. "metrics.acc > 0.9"')] = "",
    order_by: Annotated[list[str] | None, typer.Option(help="e.g. 'metrics.acc DESC'")] = None,
    max_results: Annotated[int, typer.Option()] = 50,
) -> None:
    """List runs of an experiment with their latest metrics."""
    from switchyard.errors import SwitchyardError
    from switchyard.sdk.client import Client

    try:
        with Client() as client:
            exp_id = experiment
            if not experiment.isdigit():
                found = client.get_experiment_by_name(experiment)
                if found is None:
                    console.print(f"[red]error:[/red] no experiment named '{experiment}'")
                    raise typer.Exit(1)
                exp_id = found.experiment_id
            result = client.search_runs(
                [exp_id], filter, max_results=max_results, order_by=order_by
            )
    except SwitchyardError as exc:
        _fail(exc)
    metric_keys = sorted({k for r in result for k in r.data.metrics})[:6]
    table = Table("run id", "name", "status", "started", *metric_keys)
    for r in result:
        colour = _COLOURS.get(r.info.status, "white")
        table.add_row(
            r.info.run_id,
            r.info.run_name,
            f"[{colour}]{r.info.status}[/{colour}]",
            _when(r.info.start_time),
            *(f"{r.data.metrics[k]:.4g}" if k in r.data.metrics else "" for k in metric_keys),
        )
    console.print(table)
