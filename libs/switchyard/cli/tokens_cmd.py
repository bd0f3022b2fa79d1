"""`switchyard tokens create | ls | revoke` and `switchyard whoami`."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from switchyard.cli.errors import reported
from switchyard.cli.tables import fold

if TYPE_CHECKING:
    from switchyard.sdk.access_ops import Token
    from switchyard.sdk.client import Client

tokens = typer.Typer(
    help="API tokens: who may call the platform, with which role (admins only).",
    no_args_is_help=True,
)
console = Console()
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^(\d+)([smhdw])$")


def duration_s(value: str) -> int:
    """`30d`, `12h`, `90m`, `45s`, `2w` -> seconds; `never` -> 0."""
    if value == "never":
        return 0
    found = _DURATION.match(value.strip())
    if not found or int(found[1]) == 0:
        raise typer.BadParameter("a number and a unit (s, m, h, d, w), e.g. 30d; or never")
    return int(found[1]) * _UNITS[found[2]]


def _client() -> Client:
    from switchyard.sdk.client import Client

    with reported():
        return Client()


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000)) if ms else "-"


@tokens.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. ci or alice")],
    role: Annotated[str, typer.Option(help="viewer (read), editor (write) or admin")] = "viewer",
    project: Annotated[str, typer.Option(help="The project it may act in")] = "default",
    expires: Annotated[str, typer.Option(help="Lifetime: 30d, 12h, 90m, 2w, or never")] = "never",
) -> None:
    """Make a token and print it once: it is stored only as a hash."""
    seconds = duration_s(expires)
    with _client() as client, reported():
        made = client.create_token(name, role=role, project=project, expires_in_s=seconds)
    print(made.secret)  # alone on stdout: `TOKEN=$(switchyard tokens create ci)`
    info = made.info
    until = f", expires {_when(info.expires_ms)}" if info.expires_ms else ""
    Console(stderr=True).print(
        f"[dim]token {info.token_id}: {info.role} in {info.project}{until}. Shown this"
        f" once; `switchyard tokens revoke {info.token_id}` ends it.[/dim]"
    )


@tokens.command("ls")
def ls(
    all_: Annotated[bool, typer.Option("--all", help="Revoked tokens too")] = False,
) -> None:
    """Tokens, newest first (never their secrets)."""
    with _client() as client, reported():
        found = client.list_tokens(include_revoked=all_)
    table = Table("id", "name", "role", "project", "created", "expires", "last used", "state")
    for t in found:
        state = "revoked" if t.revoked_ms else "expired" if _expired(t) else "active"
        table.add_row(
            t.token_id,
            t.name,
            t.role,
            t.project,
            _when(t.created_ms),
            _when(t.expires_ms) if t.expires_ms else "never",
            _when(t.last_used_ms),
            state,
        )
    console.print(fold(table))


def _expired(t: Token) -> bool:
    return bool(t.expires_ms) and t.expires_ms <= time.time() * 1000


@tokens.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(help="The id `tokens ls` shows")]) -> None:
    """Refuse the token from now on (every service within a second)."""
    with _client() as client, reported():
        t = client.revoke_token(token_id)
    console.print(f"token {t.token_id} ({t.name}) revoked")


def whoami() -> None:
    """The token this shell calls with: its id, name, role and project."""
    with _client() as client, reported():
        t = client.whoami()
    until = f", expires {_when(t.expires_ms)}" if t.expires_ms else ""
    console.print(f"{t.name} (token {t.token_id}): {t.role} in {t.project}{until}")
