"""`switchyard models`: list registered models, show one, move an alias."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from switchyard.cli.errors import reported
from switchyard.cli.tables import fold

if TYPE_CHECKING:
    from switchyard.sdk.registry_entities import ModelHistoryEntry

models = typer.Typer(help="Registered models.", no_args_is_help=True)
console = Console()
_STAGE_COLOURS = {"Production": "green", "Staging": "cyan", "Archived": "dim"}


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


@models.command("ls")
def list_models(
    filter: Annotated[str, typer.Option(help="e.g. \"name LIKE 'fraud%'\"")] = "",
    max_results: Annotated[int, typer.Option()] = 100,
) -> None:
    """List registered models with their aliases and latest version."""
    from switchyard.sdk.client import Client

    with reported():
        with Client() as client:
            found = client.search_registered_models(filter, max_results=max_results)
    table = Table("name", "latest", "aliases", "updated", "tags")
    for m in found:
        latest = max((v.version for v in m.latest_versions), default=None)
        table.add_row(
            m.name,
            f"v{latest}" if latest else "",
            ", ".join(f"@{a} → v{v}" for a, v in m.aliases.items()),
            _when(m.last_updated_timestamp),
            ", ".join(f"{k}={v}" for k, v in m.tags.items()),
        )
    console.print(fold(table))


@models.command("show")
def show_model(name: Annotated[str, typer.Argument(help="Registered model name")]) -> None:
    """A model's versions (stage, aliases, run, source) and its recent history."""
    from switchyard.sdk.client import Client

    with reported():
        with Client() as client:
            model = client.get_registered_model(name)
            versions = client.search_model_versions(f"name = '{_quoted(name)}'")
            history = client.get_model_history(name)[-10:]
    console.print(f"[bold]{model.name}[/bold]  {model.description}")
    if model.tags:
        console.print(", ".join(f"{k}={v}" for k, v in model.tags.items()))
    table = Table("version", "stage", "aliases", "flavor", "run", "created", "source")
    for v in versions:
        colour = _STAGE_COLOURS.get(v.current_stage, "white")
        table.add_row(
            str(v.version),
            f"[{colour}]{v.current_stage}[/{colour}]",
            ", ".join(f"@{a}" for a in v.aliases),
            v.flavor or "",
            v.run_id or "",
            _when(v.creation_timestamp),
            v.source,
        )
    console.print(fold(table))
    recent = Table("when", "who", "action", "what", title="recent history")
    for e in history:
        recent.add_row(_when(e.timestamp), e.actor, e.action, _change(e))
    console.print(fold(recent))


@models.command("alias")
def set_alias(
    name: Annotated[str, typer.Argument(help="Registered model name")],
    alias: Annotated[str, typer.Argument(help="e.g. champion")],
    version: Annotated[int, typer.Argument(help="The version the alias should name")],
) -> None:
    """Point an alias at a version (moving it if it named another)."""
    from switchyard.sdk.client import Client

    with reported():
        with Client() as client:
            before = client.get_registered_model(name).aliases.get(alias)
            client.set_registered_model_alias(name, alias, version)
    moved = f" (was v{before})" if before and before != version else ""
    console.print(f"[green]{name}@{alias}[/green] → v{version}{moved}")


def _change(e: ModelHistoryEntry) -> str:
    parts = [f"@{e.alias}" if e.alias else ""]
    if e.from_version or e.to_version:
        parts.append(f"{_v(e.from_version)} → {_v(e.to_version)}")
    elif e.version:
        parts.append(f"v{e.version}")
    if e.from_stage or e.to_stage:
        parts.append(f"{e.from_stage} → {e.to_stage}")
    return " ".join(p for p in parts if p) or e.detail


def _v(version: int | None) -> str:
    return f"v{version}" if version else "none"


def _quoted(value: str) -> str:
    return value.replace("'", "''")
