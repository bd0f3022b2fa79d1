"""`switchyard events tail`: the platform's events as they happen, a line each."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from switchyard.cli.errors import reported

if TYPE_CHECKING:
    from switchyard.core.events import Event

events = typer.Typer(help="Platform events (NATS JetStream).", no_args_is_help=True)
console = Console()
MAX_LINE = 160  # a summary longer than this is cut: `--json` has everything


def summary(data: dict[str, Any]) -> str:
    """`key=value` for the payload's scalars (nested ones dotted); lists as a count."""
    parts: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, list):
            parts.append(f"{prefix}=[{len(value)}]")
        else:
            text = str(value)
            parts.append(f"{prefix}={text if len(text) <= 40 else text[:39] + '…'}")

    walk("", data)
    line = " ".join(parts)
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


@events.command("tail")
def tail(
    subject: Annotated[
        str, typer.Argument(help="Subject pattern, e.g. 'sy.tracking.run.>'")
    ] = "sy.>",
    all: Annotated[bool, typer.Option("--all", help="Start at the oldest event kept")] = False,
    timeout: Annotated[
        float | None, typer.Option(help="Stop after this many quiet seconds")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per event, the whole payload")
    ] = False,
) -> None:
    """Print events as they are published, one line each."""
    from switchyard.sdk.subscriptions import events as subscribe_events

    try:
        with reported():
            found = subscribe_events(subject, deliver="all" if all else "new", timeout=timeout)
            for event in found:
                _print(event, as_json)
    except KeyboardInterrupt:
        pass


def _print(event: Event, as_json: bool) -> None:
    from google.protobuf.json_format import MessageToDict

    data = MessageToDict(event.data, preserving_proto_field_name=True)
    if as_json:
        envelope = {
            "id": event.id,
            "type": event.type,
            "subject": event.subject,
            "time": event.time.isoformat(),
            "data": data,
        }
        print(json.dumps(envelope), flush=True)
        return
    when = event.time.astimezone().strftime("%H:%M:%S.%f")[:-3]
    console.print(
        f"[dim]{when}[/dim] [bold]{event.type.removeprefix('sy.')}[/bold]"
        f" {event.subject} [dim]{escape(summary(data))}[/dim]",
        soft_wrap=True,
    )
