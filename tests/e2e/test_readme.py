"""The README runs as written, so it cannot drift from the product.

Its code blocks are taken in order: shell blocks run line by line in bash,
Python blocks in one namespace (each sees what the earlier ones defined, as a
reader pasting them into one session would), against `switchyard up` started
in `.switchyard/` of a working folder, found the way a user's shell finds it.
A block the test does not run says why, in a `<!-- readme: not run (why) -->`
line just above it (the install commands, the test command, benchmarks).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from switchyard.sdk import fluent
from switchyard.sdk import jobs as sdk_jobs
from switchyard.testing.up import UpProcess

pytestmark = [
    pytest.mark.e2e,
    # the mlflow snippet: MLflow warns about its own deprecations
    pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning"),
]
ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(
    r"(?:<!-- readme: not run \((?P<why>[^)]*)\) -->\n)?^```(?P<lang>\w*)\n(?P<code>.*?)^```",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int
    skipped: str | None


def blocks() -> list[Block]:
    text = (ROOT / "README.md").read_text()
    return [
        Block(m["lang"], m["code"], text.count("\n", 0, m.start("code")) + 1, m["why"])
        for m in _BLOCK.finditer(text)
        if m["lang"] in ("bash", "python")
    ]


def test_every_block_runs_or_says_why() -> None:
    found = blocks()
    assert sum(b.lang == "python" and not b.skipped for b in found) >= 5
    assert sum(b.lang == "bash" and not b.skipped for b in found) >= 2
    for b in found:
        assert b.skipped is None or b.skipped.strip(), f"README.md:{b.line}: say why"


def _shell(line: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-c", line],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _lines(code: str) -> list[str]:
    return [ln for ln in code.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def test_the_readme_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"  # the user's folder: `up` ran here
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    for key in [k for k in os.environ if k.startswith(("SWITCHYARD_", "MLFLOW_"))]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(work)
    # The venv's commands first, as in an activated venv (CI runs .venv/bin/pytest).
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    with UpProcess(work / ".switchyard"):
        fluent.reset()
        sdk_jobs.reset()
        namespace: dict[str, object] = {"__name__": "__readme__"}
        try:
            for b in blocks():
                if b.skipped:
                    continue
                if b.lang == "python":
                    exec(compile(b.code, f"README.md:{b.line}", "exec"), namespace)
                    continue
                for line in _lines(b.code):
                    if line.startswith("eval "):  # it sets this shell's variables: keep them
                        printed = _shell(f"set -e\n{line}\nenv -0", work, env)
                        found = dict(v.split("=", 1) for v in printed.split("\0") if "=" in v)
                        for key in (
                            "SWITCHYARD_HOME",
                            "MLFLOW_TRACKING_URI",
                            "MLFLOW_TRACKING_TOKEN",
                        ):
                            assert key in found, f"{line} set no {key}: {printed!r:.2000}"
                            monkeypatch.setenv(key, found[key])
                            env[key] = found[key]
                        continue
                    _shell(line, work, env)
        finally:
            while fluent.active_run() is not None:
                fluent.end_run()
            fluent.reset()
            sdk_jobs.reset()
            dep = namespace.get("dep")
            if dep is not None:
                dep.delete()  # type: ignore[attr-defined]
