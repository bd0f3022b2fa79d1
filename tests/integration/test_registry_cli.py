"""`switchyard models ls | show | alias` against the test platform."""

from __future__ import annotations

import uuid

from typer.testing import CliRunner

import switchyard as sy
from switchyard.cli.main import app
from switchyard.core.config import Settings


def test_models_commands(switchyard_client: sy.Client, switchyard_settings: Settings) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    switchyard_client.create_registered_model(name, tags={"team": "risk"})
    for _ in range(2):
        switchyard_client.create_model_version(name, "file:///models/cli")
    runner = CliRunner(env={"SWITCHYARD_HOME": str(switchyard_settings.home)})

    moved = runner.invoke(app, ["models", "alias", name, "champion", "2"])
    assert moved.exit_code == 0, moved.output
    assert f"{name}@champion" in moved.output and "v2" in moved.output
    assert switchyard_client.get_registered_model(name).aliases == {"champion": 2}

    listed = runner.invoke(
        app, ["models", "ls", "--filter", f"name = '{name}'"], terminal_width=200
    )
    assert listed.exit_code == 0, listed.output
    assert name in listed.output and "@champion → v2" in listed.output

    shown = runner.invoke(app, ["models", "show", name], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "alias.set" in shown.output and "version.created" in shown.output

    refused = runner.invoke(app, ["models", "alias", name, "latest", "1"])
    assert refused.exit_code == 1 and "reserved" in refused.output
    missing = runner.invoke(app, ["models", "show", f"{name}-missing"])
    assert missing.exit_code == 1 and "not found" in missing.output
