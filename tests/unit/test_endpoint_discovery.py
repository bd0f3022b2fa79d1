"""How a client or worker finds the platform: endpoints.json, overridden by env settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchyard.core.config import Settings
from switchyard.errors import Unavailable
from switchyard.sdk.endpoints import discover

WRITTEN = {
    "grpc": {"tracking": "127.0.0.1:7601", "registry": "127.0.0.1:7602"},
    "nats": "nats://127.0.0.1:7622",
    "artifact_root": "file:///home/me/.switchyard/artifacts",
}


def test_endpoints_json_is_read(tmp_path: Path) -> None:
    (tmp_path / "endpoints.json").write_text(json.dumps(WRITTEN))
    found = discover(Settings(home=tmp_path))
    assert found.address("tracking") == "127.0.0.1:7601"
    assert found.nats == "nats://127.0.0.1:7622"
    assert found.artifact_root == "file:///home/me/.switchyard/artifacts"


def test_env_settings_win_over_the_file(tmp_path: Path) -> None:
    """In a cluster there is no endpoints.json: env vars must carry everything."""
    (tmp_path / "endpoints.json").write_text(json.dumps(WRITTEN))
    settings = Settings(
        home=tmp_path,
        addresses={"tracking": "tracking:7601", "scheduler": "scheduler:7603"},
        nats_url="nats://nats:4222",
        artifact_root="s3://switchyard/artifacts",
    )
    found = discover(settings)
    assert found.address("tracking") == "tracking:7601"
    assert found.address("scheduler") == "scheduler:7603"
    assert found.address("registry") == "127.0.0.1:7602"  # not overridden
    assert found.nats == "nats://nats:4222"
    assert found.artifact_root == "s3://switchyard/artifacts"


def test_no_platform_names_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="switchyard up"):
        discover(Settings(home=tmp_path)).address("tracking")


def test_a_subfolder_finds_the_platform_of_its_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As git finds .git: the nearest .switchyard/ up from the working folder."""
    (tmp_path / ".switchyard").mkdir()
    (tmp_path / ".switchyard" / "endpoints.json").write_text(json.dumps(WRITTEN))
    deep = tmp_path / "src" / "models"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    monkeypatch.delenv("SWITCHYARD_HOME", raising=False)
    assert discover(Settings()).address("tracking") == "127.0.0.1:7601"


def test_an_explicit_home_is_the_only_place_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".switchyard").mkdir()
    (tmp_path / ".switchyard" / "endpoints.json").write_text(json.dumps(WRITTEN))
    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("SWITCHYARD_HOME", str(elsewhere))
    with pytest.raises(Unavailable) as err:
        discover(Settings()).address("tracking")
    assert str(elsewhere / "endpoints.json") in str(err.value)
    assert "SWITCHYARD_HOME" in str(err.value)
