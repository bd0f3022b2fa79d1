"""A user's mistake on the command line is one line naming what is wrong, exit 2,
never a traceback (checked before anything is started or sent)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from switchyard.cli.main import app


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["jobs", "submit", "--env", "fraud", "--", "echo", "hi"], "KEY=VALUE"),
        (["worker", "--memory", "lots"], "lots"),
        (["pipelines", "run", "no_such_module:thing"], "no_such_module"),
        (["predict", "model"], "--json"),
        (["up", "--object-store", "ftp"], "--object-store"),
        (["deployments", "scale"], "name"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    args: list[str], named: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHYARD_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    # typer spells a missing argument 'NAME' or 'name' by version
    assert named.lower() in result.output.lower(), result.output
