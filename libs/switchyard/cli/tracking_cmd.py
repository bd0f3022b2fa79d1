"""`switchyard experiments` and `switchyard runs`: listings, details, comparisons."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from switchyard.cli.errors import reported
from switchyard.cli.tables import fold

if TYPE_CHECKING:
    from switchyard.sdk.client import Client

experiments = typer.Typer(help="Experiments.", no_args_is_help=True)
runs = typer.Typer(help="Runs.", no_args_is_help=True)
console = Console()
_COLOURS = {"RUNNING": "cyan", "FINISHED": "green", "FAILED": "red", "KILLED": "yellow"}


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


@experiments.command("ls")
def list_experiments(
    filter: Annotated[str, typer.Option(help="e.g. \"name LIKE 'fraud%'\"")] = "",
    all: Annotated[bool, typer.Option("--all", help="Include deleted experiments")] = False,
) -> None:
    """List experiments."""
    from switchyard.sdk.client import Client
    from switchyard.sdk.entities import LOGGED_MODELS_EXPERIMENT

    with reported():
        with Client() as client:
            found = client.search_experiments("all" if all else "active_only", filter_string=filter)
    table = Table("id", "name", "created", "artifact location", "tags")
    for e in found:
        if e.name == LOGGED_MODELS_EXPERIMENT and not all:
            continue  # where the web edge keeps MLflow 3's logged models
        name = e.name if e.lifecycle_stage == "active" else f"[strike]{e.name}[/strike]"
        table.add_row(
            e.experiment_id,
            name,
            _when(e.creation_time),
            e.artifact_location,
            ", ".join(f"{k}={v}" for k, v in e.tags.items()),
        )
    console.print(fold(table))


@runs.command("ls")
def list_runs(
    experiment: Annotated[
        str, typer.Option("--experiment", "-e", help="Experiment name or id")
    ] = "0",
    filter: Annotated[str, typer.Option(help='e.g. "metrics.acc > 0.9"')] = "",
    order_by: Annotated[list[str] | None, typer.Option(help="e.g. 'metrics.acc DESC'")] = None,
    max_results: Annotated[int, typer.Option()] = 50,
    wide: Annotated[
        bool, typer.Option("--wide", help="Every metric, however wide the table gets")
    ] = False,
) -> None:
    """List runs of an experiment with their latest metrics (as many as fit; --wide: all)."""
    from switchyard.sdk.client import Client

    with reported():
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
    metric_keys = sorted({k for r in result for k in r.data.metrics})
    out = console
    if wide:
        out = Console(width=max(console.width, 60 + 80 + 12 * len(metric_keys)))
    else:  # the columns that fit beside name, status, start and the whole run id
        metric_keys = metric_keys[: max(0, (console.width - 110) // 11)]
    table = Table("name", "status", "started", *metric_keys)
    table.add_column("run id", no_wrap=True, min_width=32)  # last: copied whole, never cut
    for r in result:
        colour = _COLOURS.get(r.info.status, "white")
        table.add_row(
            r.info.run_name,
            f"[{colour}]{r.info.status}[/{colour}]",
            _when(r.info.start_time),
            *(f"{r.data.metrics[k]:.4g}" if k in r.data.metrics else "" for k in metric_keys),
            r.info.run_id,
        )
    out.print(fold(table))


def _experiment_id(client: Client, name_or_id: str) -> str:
    if name_or_id.isdigit():
        return name_or_id
    found = client.get_experiment_by_name(name_or_id)
    if found is None:
        console.print(f"[red]error:[/red] no experiment named '{name_or_id}'")
        raise typer.Exit(1)
    return found.experiment_id


@experiments.command("create")
def create_experiment(name: Annotated[str, typer.Argument(help="Experiment name")]) -> None:
    """Create an experiment; prints its id."""
    from switchyard.sdk.client import Client

    with reported():
        with Client() as client:
            console.print(client.create_experiment(name))


@experiments.command("delete")
def delete_experiment(
    experiment: Annotated[str, typer.Argument(help="Experiment name or id")],
) -> None:
    """Delete an experiment (restorable, as in MLflow)."""
    from switchyard.sdk.client import Client

    with reported():
        with Client() as client:
            exp_id = _experiment_id(client, experiment)
            client.delete_experiment(exp_id)
    console.print(f"experiment {exp_id} deleted")


@runs.command("show")
def show_run(run_id: Annotated[str, typer.Argument(help="Run id")]) -> None:
    """A run's details: status, times, params, latest metrics, tags."""
    from switchyard.sdk.client import Client

    with reported():
        with Client() as client:
            run = client.get_run(run_id)
    info = run.info
    colour = _COLOURS.get(info.status, "white")
    console.print(f"[bold]{info.run_name}[/bold] {info.run_id}")
    console.print(
        f"  [{colour}]{info.status}[/{colour}]  experiment {info.experiment_id}"
        f"  started {_when(info.start_time)}  ended {_when(info.end_time) or '-'}"
    )
    console.print(f"  artifacts {info.artifact_uri}")
    for title, values in (
        ("params", run.data.params),
        ("metrics", {k: f"{v:.6g}" for k, v in run.data.metrics.items()}),
        ("tags", {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}),
    ):
        if values:
            table = Table(title, "value", title_justify="left", show_edge=False)
            for k in sorted(values):
                table.add_row(k, str(values[k]))
            console.print(fold(table))


@runs.command("delete")
def delete_run(run_ids: Annotated[list[str], typer.Argument(help="Run ids")]) -> None:
    """Delete runs (restorable, as in MLflow)."""
    from switchyard.sdk.client import Client

    with reported():
        with Client() as client:
            for run_id in run_ids:
                client.delete_run(run_id)
                console.print(f"run {run_id} deleted")


@runs.command("compare")
def compare_runs(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids")],
    all: Annotated[bool, typer.Option("--all", help="Rows that are equal too")] = False,
) -> None:
    """Params and latest metrics of runs side by side (by default, where they differ)."""
    from switchyard.sdk.client import Client

    if len(run_ids) < 2:
        raise typer.BadParameter("give two or more run ids", param_hint="RUN_IDS")
    with reported():
        with Client() as client:
            found = [client.get_run(r) for r in run_ids]
    table = Table("", *(f"{r.info.run_name}\n{r.info.run_id[:8]}" for r in found))
    for kind, rows in (
        ("param", [r.data.params for r in found]),
        ("metric", [{k: f"{v:.6g}" for k, v in r.data.metrics.items()} for r in found]),
    ):
        for key in sorted({k for row in rows for k in row}):
            values = [row.get(key, "") for row in rows]
            if all or len(set(values)) > 1:
                table.add_row(f"{kind} {key}", *map(str, values))
    console.print(fold(table))
