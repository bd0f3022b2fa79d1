"""`switchyard deployments ...` and `switchyard predict` without a platform: help,
argument errors as one line, tables, and predictions printed as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from serving_doubles import GATEWAY_URL, FakeTransport, deployment_proto
from typer.testing import CliRunner

from switchyard.cli import deployments_cmd
from switchyard.cli.main import app
from switchyard.errors import NotFound
from switchyard.sdk.serving import Deployment, deployments, predictions

runner = CliRunner(env={"COLUMNS": "200"})


def test_cli_help() -> None:
    shown = runner.invoke(app, ["deployments", "--help"])
    assert shown.exit_code == 0
    for command in ("ls", "show", "scale", "rollback", "promote", "delete"):
        assert command in shown.output
    shown = runner.invoke(app, ["predict", "--help"])
    assert shown.exit_code == 0 and "--json" in shown.output


def test_cli_argument_errors(tmp_path: Path) -> None:
    assert runner.invoke(app, ["deployments", "scale", "m"]).exit_code == 2
    assert runner.invoke(app, ["deployments", "scale", "m", "--min", "-1"]).exit_code == 2
    assert runner.invoke(app, ["predict", "m"]).exit_code == 2  # --json is required
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert runner.invoke(app, ["predict", "m", "--json", str(bad)]).exit_code == 2
    bad.write_text('{"inputs": [{"name": "x", "datatype": "FP32", "shape": [3], "data": [1]}]}')
    shown = runner.invoke(app, ["predict", "m", "--json", str(bad)])
    assert shown.exit_code == 2 and "do not match shape" in shown.output
    missing = runner.invoke(app, ["predict", "m", "--json", str(tmp_path / "none.json")])
    assert missing.exit_code == 2


def test_cli_errors_are_one_red_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str, **_: Any) -> Deployment:
        raise NotFound(f"no deployment named {name} [sic]")

    monkeypatch.setattr("switchyard.sdk.serving.get_deployment", missing)
    shown = runner.invoke(app, ["deployments", "show", "nope"])
    assert shown.exit_code == 1
    assert shown.output.strip() == "error: no deployment named nope [sic]"
    assert "Traceback" not in shown.output


def test_cli_ls_and_show(monkeypatch: pytest.MonkeyPatch) -> None:
    dep = Deployment(deployment_proto(), FakeTransport())  # type: ignore[arg-type]
    monkeypatch.setattr("switchyard.sdk.serving.list_deployments", lambda **_: [dep])
    monkeypatch.setattr("switchyard.sdk.serving.get_deployment", lambda name, **_: dep)
    shown = runner.invoke(app, ["deployments", "ls"])
    assert shown.exit_code == 0, shown.output
    for text in ("fraud", "models:/fraud@champion", "READY", "2/3", "10% v4", GATEWAY_URL):
        assert text in shown.output
    shown = runner.invoke(app, ["deployments", "show", "fraud"])
    assert shown.exit_code == 0, shown.output
    for text in ("revisions", "canary", "j1", "starting", "7.0"):
        assert text in shown.output


def test_cli_predict_prints_outputs_as_json(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[Any] = []

    def infer(transport: Any, name: str, inputs: Any, outputs: Any, timeout: Any) -> Any:
        seen.append((name, inputs, list(outputs)))
        return {"y": np.array([[1.5], [2.5]]), "label": np.array([b"a", b"b"], dtype=object)}

    monkeypatch.setattr(predictions, "infer", infer)
    monkeypatch.setattr(deployments, "transport_for", lambda settings=None: None)
    body = {
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3, 4]}],
        "outputs": [{"name": "y"}],
    }
    path = tmp_path / "req.json"
    path.write_text(json.dumps(body))
    shown = runner.invoke(app, ["predict", "m", "--json", str(path)])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == {"y": [[1.5], [2.5]], "label": ["a", "b"]}
    name, inputs, outputs = seen[0]
    assert name == "m" and outputs == ["y"]
    assert inputs["x"].dtype == np.float32 and inputs["x"].shape == (2, 2)
    shown = runner.invoke(app, ["predict", "m", "--json", "-"], input="[[1, 2]]")
    assert shown.exit_code == 0 and seen[1][1] == [[1, 2]]
    shown = runner.invoke(
        app, ["predict", "m", "--json", "-", "-o", "label"], input='{"inputs": {"a": [1]}}'
    )
    assert shown.exit_code == 0 and seen[2][1] == {"a": [1]} and seen[2][2] == ["label"]
    assert deployments_cmd.parse_request([1, 2]) == ([1, 2], [])
