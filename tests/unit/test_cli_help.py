"""Every command's help reads cleanly, and platform errors are one escaped line."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from switchyard.cli.errors import reported
from switchyard.cli.main import app
from switchyard.errors import NotFound

runner = CliRunner(env={"COLUMNS": "120"})


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        found += _paths(sub, (*prefix, name))
    return found


@pytest.mark.parametrize("path", _paths(typer.main.get_command(app)), ids=" ".join)
def test_help_shows_no_type_for_flags(path: tuple[str, ...]) -> None:
    shown = runner.invoke(app, [*path, "--help"])
    assert shown.exit_code == 0, shown.output
    assert "Usage:" in shown.output
    assert "<bool>" not in shown.output  # a flag takes no value


def test_a_platform_error_is_one_escaped_line_and_its_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(typer.Exit) as ended, reported(code=2):
        raise NotFound("no run named [run-1]")
    assert ended.value.exit_code == 2
    assert capsys.readouterr().err == "error: no run named [run-1]\n"


def test_other_errors_pass_through() -> None:
    with pytest.raises(KeyError), reported():
        raise KeyError("a bug is a traceback, not a one-liner")
