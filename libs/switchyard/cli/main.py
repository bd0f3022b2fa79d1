"""The `switchyard` command."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from switchyard import __version__
from switchyard.cli import (
    artifacts_cmd,
    audit_cmd,
    deployments_cmd,
    events_cmd,
    jobs_cmd,
    models_cmd,
    platform_cmd,
    queues_cmd,
    studies_cmd,
    tokens_cmd,
    tracking_cmd,
)


class _Group(TyperGroup):
    """The root command. Typer shows each option's Python type in help, `<bool>`
    for flags too, though a flag takes no value: flags show none."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for sub in self.commands.values():
            _no_flag_types(sub)

    def get_params(self, ctx: Any) -> Any:
        return _flags_untyped(super().get_params(ctx))  # typer adds completion flags late


def _flags_untyped(params: Any) -> Any:
    for param in params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    return params


def _no_flag_types(command: Any) -> None:
    get_params = command.get_params
    command.get_params = lambda ctx: _flags_untyped(get_params(ctx))
    for sub in getattr(command, "commands", {}).values():
        _no_flag_types(sub)


app = typer.Typer(
    help="Switchyard: experiment tracking, registry, jobs and serving, with events.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    cls=_Group,
)
app.add_typer(tracking_cmd.experiments, name="experiments")
app.add_typer(tracking_cmd.runs, name="runs")
app.add_typer(artifacts_cmd.artifacts, name="artifacts")
app.add_typer(events_cmd.events, name="events")
app.add_typer(models_cmd.models, name="models")
app.add_typer(jobs_cmd.jobs, name="jobs")
app.add_typer(queues_cmd.queues, name="queues")
app.add_typer(jobs_cmd.pipelines, name="pipelines")
app.add_typer(studies_cmd.studies, name="studies")
app.add_typer(deployments_cmd.deployments, name="deployments")
app.add_typer(tokens_cmd.tokens, name="tokens")
app.add_typer(audit_cmd.audit, name="audit")
app.command("whoami")(tokens_cmd.whoami)
app.command("predict")(deployments_cmd.predict)
app.command("worker")(jobs_cmd.worker)
app.command("up")(platform_cmd.up)
app.command("down")(platform_cmd.down)
app.command("status")(platform_cmd.status)
app.command("logs")(platform_cmd.logs)
app.command("env")(platform_cmd.env)
console = Console()


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


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


def main() -> None:
    """The `switchyard` command: the app, with any platform error that a command did
    not handle itself shown as one line (never a traceback) and exit 1."""
    try:
        app()
    except Exception as exc:
        from switchyard.errors import SwitchyardError

        if not isinstance(exc, SwitchyardError):
            raise
        from rich.markup import escape

        Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
