"""`switchyard events tail`: print events live."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

events = typer.Typer(help="Events.", no_args_is_help=True)
console = Console()


@events.command("tail")
def tail(
    subject: Annotated[
        str, typer.Argument(help="Subject pattern, e.g. 'sy.tracking.run.>'")
    ] = "sy.>",
    all: Annotated[bool, typer.Option("--all", help="Start at the oldest event kept")] = False,
    timeout: Annotated[
        float | None, typer.Option(help="Stop after this many quiet seconds")
    ] = None,
) -> None:
    """Print events as they are published."""
    from google.protobuf.json_format import MessageToDict

    from switchyard.errors import SwitchyardError
    from switchyard.sdk.subscriptions import events as subscribe_events

    try:
        for event in subscribe_events(subject, deliver="all" if all else "new", timeout=timeout):
            when = event.time.strftime("%H:%M:%S.%f")[:-3]
            data = MessageToDict(event.data, preserving_proto_field_name=True)
            console.print(f"[dim]{when}[/dim] [bold]{event.type}[/bold] {event.subject} {data}")
    except SwitchyardError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass
