"""`switchyard audit ls`: who changed what, newest first (admins only)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from switchyard.cli.errors import reported
from switchyard.cli.tables import fold
from switchyard.cli.tokens_cmd import _client, _when, duration_s

audit = typer.Typer(
    help="The audit log: every acknowledged change, who made it and how (admins only).",
    no_args_is_help=True,
)
console = Console()


@audit.command("ls")
def ls(
    actor: Annotated[str | None, typer.Option(help="Only changes by this token name")] = None,
    entity: Annotated[str | None, typer.Option(help="Only changes of this id")] = None,
    project: Annotated[str | None, typer.Option(help="Only changes in this project")] = None,
    since: Annotated[str | None, typer.Option(help="Only the last 30m, 12h, 7d, ...")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 50,
) -> None:
    """List changes, newest first: time, service, actor, call, what changed."""
    since_ms = int((time.time() - duration_s(since)) * 1000) if since else None
    with _client() as client, reported(code=2):
        found = client.search_audit(
            actor=actor, entity=entity, project=project, since=since_ms, limit=limit
        )
    table = Table("time", "service", "actor", "call", "entities", "peer", "trace")
    for r in found:
        table.add_row(
            _when(r.time_ms),
            r.service,
            r.actor,
            r.method.rsplit("/", 1)[-1],
            ", ".join(r.entities[:3])
            + (f" (+{len(r.entities) - 3})" if len(r.entities) > 3 else ""),
            r.peer,
            r.trace_id[:12],
        )
    console.print(fold(table))
    if found.token:
        console.print(f"[dim]more: --since or --limit {limit * 2}[/dim]")


def _entities(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:3])
    return f"{shown} (+{len(ids) - 3})" if len(ids) > 3 else shown
