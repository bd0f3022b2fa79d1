"""How a command reports a platform error: one red line, then its exit code.

Commands say `with reported():` around their calls instead of catching
`SwitchyardError` each; what a command leaves uncaught `main()` reports
the same way. The message is escaped: a filter or a name may hold `[...]`,
which Rich would read as markup and swallow.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from switchyard.errors import SwitchyardError

stderr = Console(stderr=True)


def fail(exc: SwitchyardError, *, code: int = 1, to: Console = stderr) -> NoReturn:
    to.print(f"[red]error:[/red] {escape(exc.message)}", soft_wrap=True)  # one line
    raise typer.Exit(code)


@contextmanager
def reported(*, code: int = 1, to: Console = stderr) -> Iterator[None]:
    """A `SwitchyardError` in the block ends the command with its message and
    exit `code` (2 where the user's input was refused, as for usage errors)."""
    try:
        yield
    except Exception as exc:
        # imported here: the errors module loads grpc, which `--help` need not
        from switchyard.errors import SwitchyardError

        if not isinstance(exc, SwitchyardError):
            raise
        fail(exc, code=code, to=to)
