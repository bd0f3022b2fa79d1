"""`switchyard queues ls | show | create | update | pause | resume | delete`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from switchyard.cli.errors import reported
from switchyard.cli.tables import fold

if TYPE_CHECKING:
    from switchyard.sdk.jobs import JobsClient, Queue

queues = typer.Typer(
    help="Queues: limits on what their jobs hold together; pause and resume admission.",
    no_args_is_help=True,
)
console = Console()
NameArg = Annotated[str, typer.Argument(help="Queue name")]
_LIFT = "none"  # what `update` takes to lift a limit


def _client() -> JobsClient:
    from switchyard.sdk.jobs import JobsClient

    with reported():
        return JobsClient()


@queues.command("ls")
def ls() -> None:
    """Every queue: its limits and use, running and queued jobs, and the oldest wait."""
    with _client() as client:
        with reported():
            found = client.list_queues()
    table = Table("name", "state", "cpus", "gpus", "memory", "running", "queued", "oldest wait")
    for q in found:
        table.add_row(
            q.name,
            _state(q),
            _use(q.used_cpus, q.max_cpus),
            _use(q.used_gpus, q.max_gpus),
            _use(q.used_memory_mb, q.max_memory_mb, _memory),
            _use(q.running_jobs, q.max_jobs),
            str(q.queued_jobs),
            _wait(q.oldest_wait),
        )
    console.print(fold(table))


@queues.command("show")
def show(name: NameArg) -> None:
    """A queue's limits, what its jobs hold, and what waits."""
    with _client() as client:
        with reported():
            _show(client.get_queue(name))


@queues.command("create")
def create(
    name: NameArg,
    max_cpus: Annotated[float | None, typer.Option(help="CPUs its jobs may hold")] = None,
    max_gpus: Annotated[int | None, typer.Option(help="GPUs its jobs may hold")] = None,
    max_memory: Annotated[
        str | None, typer.Option(help="Memory its jobs may hold, e.g. 64G")
    ] = None,
    max_jobs: Annotated[int | None, typer.Option(help="Jobs admitted or running at once")] = None,
) -> None:
    """Create a queue; a limit left out is no limit (every gang process counts)."""
    with _client() as client:
        with reported(code=2):
            queue = client.create_queue(
                name, max_cpus=max_cpus, max_gpus=max_gpus, max_memory=max_memory, max_jobs=max_jobs
            )
        _show(queue)


@queues.command("update")
def update(
    name: NameArg,
    max_cpus: Annotated[str | None, typer.Option(help="CPUs, or 'none': no limit")] = None,
    max_gpus: Annotated[str | None, typer.Option(help="GPUs, or 'none'")] = None,
    max_memory: Annotated[str | None, typer.Option(help="Memory, e.g. 64G, or 'none'")] = None,
    max_jobs: Annotated[str | None, typer.Option(help="Jobs at once, or 'none'")] = None,
) -> None:
    """Change the limits given and keep the others."""
    from switchyard.sdk.jobs import UNCHANGED

    def change(value: str | None, option: str, number: type[float] | type[int] | None) -> Any:
        if value is None:
            return UNCHANGED
        if value.lower() == _LIFT:
            return None
        if number is None:  # memory: the SDK reads sizes
            return value
        try:
            return number(value)
        except ValueError:
            raise typer.BadParameter(
                f"{value!r} is not a number or 'none'", param_hint=option
            ) from None

    changes = {
        "max_cpus": change(max_cpus, "--max-cpus", float),
        "max_gpus": change(max_gpus, "--max-gpus", int),
        "max_memory": change(max_memory, "--max-memory", None),
        "max_jobs": change(max_jobs, "--max-jobs", int),
    }
    with _client() as client:
        with reported(code=2):
            queue = client.update_queue(name, **changes)
        _show(queue)


@queues.command("pause")
def pause(name: NameArg) -> None:
    """Admit nothing more from the queue; its jobs wait, running ones go on."""
    with _client() as client:
        with reported():
            q = client.pause_queue(name)
    console.print(
        f"queue '{q.name}' paused: {q.queued_jobs} queued wait,"
        f" {q.running_jobs} running go on. `switchyard queues resume {q.name}` admits again."
    )


@queues.command("resume")
def resume(name: NameArg) -> None:
    """Admit the queue's jobs again."""
    with _client() as client:
        with reported():
            q = client.resume_queue(name)
    console.print(f"queue '{q.name}' resumed: {q.queued_jobs} queued")


@queues.command("delete")
def delete(name: NameArg) -> None:
    """Delete a queue in which no job is queued or running."""
    with _client() as client:
        with reported():
            client.delete_queue(name)
    console.print(f"queue '{name}' deleted")


def _show(q: Queue) -> None:
    table = Table(show_header=False, show_edge=False)
    for key, value in (
        ("name", q.name),
        ("state", _state(q)),
        ("cpus", _use(q.used_cpus, q.max_cpus)),
        ("gpus", _use(q.used_gpus, q.max_gpus)),
        ("memory", _use(q.used_memory_mb, q.max_memory_mb, _memory)),
        ("running", _use(q.running_jobs, q.max_jobs)),
        ("queued", str(q.queued_jobs)),
        ("oldest wait", _wait(q.oldest_wait)),
    ):
        table.add_row(key, value)
    console.print(fold(table))


def _state(q: Queue) -> str:
    return "paused" if q.paused else "active"


def _number(value: float) -> str:
    return f"{value:g}"


def _use(used: float, most: float | None, show: Callable[[float], str] = _number) -> str:
    """'1.5 of 4' under a limit, '2 (no limit)' without."""
    return f"{show(used)} of {show(most)}" if most else f"{show(used)} (no limit)"


def _memory(mb: float) -> str:
    if mb < 1024:
        return f"{mb} MB"
    return f"{mb / 1024:g} GB" if mb % 1024 == 0 else f"{mb / 1024:.1f} GB"


def _wait(seconds: float | None) -> str:
    """'45s', '3m 12s', '2h 5m', '1d 3h'; '' when nothing waits."""
    if seconds is None:
        return ""
    s = int(seconds)
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if s >= size:
            return f"{s // size}{unit} {s % size // sub_size}{sub}"
    return f"{s // 60}m {s % 60}s" if s >= 60 else f"{s}s"
