"""`switchyard studies ls | show | best | stop`: hyperparameter studies."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from switchyard.cli.errors import reported
from switchyard.cli.tables import fold

if TYPE_CHECKING:
    from switchyard.sdk.tuner import Study, Trial

studies = typer.Typer(help="Hyperparameter studies (sy.tune).", no_args_is_help=True)
console = Console()
_COLOURS = {
    "RUNNING": "cyan",
    "COMPLETED": "green",
    "FAILED": "red",
    "PRUNED": "yellow",
    "STOPPED": "yellow",
}
StudyArg = Annotated[str, typer.Argument(help="Study id or name")]


def _study(id_or_name: str) -> Study:
    from switchyard.sdk.tuner import get_study

    with reported():
        return get_study(id_or_name)


def _state(state: str) -> str:
    return f"[{_COLOURS.get(state, 'white')}]{state}[/]"


@studies.command("ls")
def list_studies(limit: Annotated[int, typer.Option(help="At most this many")] = 50) -> None:
    """Studies, newest first."""
    from switchyard.sdk.tuner import list_studies as found

    with reported():
        rows = found(limit=limit)
    table = Table()
    table.add_column("id", no_wrap=True, min_width=32)  # ids are copied: never cut
    for column in ("name", "state", "trials", "best"):
        table.add_column(column, overflow="fold")
    for s in rows:
        p = s._proto
        done = p.trials_completed + p.trials_pruned + p.trials_failed
        best = f"{p.best_trial.values[0]:.6g}" if p.best_trial.values else ""
        table.add_row(s.id, s.name, _state(s.state), f"{done}/{p.spec.max_trials}", best)
    console.print(fold(table))


def _trials_table(study: Study, trials: list[Trial]) -> Table:
    names = sorted({k for t in trials for k in t.params})
    table = Table(
        "#", "state", "value", "step", *names, title=f"{study.name} — {_state(study.state)}"
    )
    best = study._proto.best_trial.number if study._proto.best_trial.values else None
    for t in trials:
        value = "" if t.value is None else f"{t.value:.6g}"
        mark = " ★" if t.number == best and t.state == "COMPLETED" else ""
        step = "" if t.last_step < 0 else str(t.last_step)
        cells = [str(t.params.get(n, "")) for n in names]
        table.add_row(f"{t.number}{mark}", _state(t.state), value, step, *cells)
    return fold(table)


@studies.command("show")
def show(
    study: StudyArg,
    watch: Annotated[bool, typer.Option(help="Keep the table live until the study ends")] = True,
) -> None:
    """A study's trials; on a running study a live table until it ends (Ctrl-C leaves)."""
    found = _study(study)
    if not watch or found.done:
        console.print(_trials_table(found, found.trials))
        return
    try:
        with Live(
            _trials_table(found, found.trials), console=console, refresh_per_second=2
        ) as live:
            while not found.refresh().done:
                time.sleep(1)
                live.update(_trials_table(found, found.trials))
            live.update(_trials_table(found, found.trials))
    except KeyboardInterrupt:
        pass


@studies.command("best")
def best(study: StudyArg) -> None:
    """The best trial so far: its value, parameters and run."""
    trial = _study(study).best_trial
    if trial is None:
        console.print("no completed trial yet")
        raise typer.Exit(1)
    console.print(f"trial {trial.number}: value {trial.value:.6g}  run {trial.run_id}")
    for name, value in trial.params.items():
        console.print(f"  {name} = {value!r}")


@studies.command("stop")
def stop(study: StudyArg) -> None:
    """Stop a study: its running trials are stopped, no more start."""
    found = _study(study).stop()
    console.print(f"{found.name}: {_state(found.state)}")
