"""Helpers every test folder shares (the platform fixtures come from `switchyard.testing`).

`require_tool` and `require_module` skip a test whose tool is missing on a
developer's machine, but fail it in CI (`CI=true`): a check that quietly
skips there is a check that never runs.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

# the browser fixtures (Playwright loads only when a browser test asks for one)
pytest_plugins = ["browser.ui_browser"]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def missing(what: str, install: str) -> NoReturn:
    """Skip the test (or module) that needs `what`; under CI, fail it instead."""
    message = f"{what} is not available ({install})"
    if in_ci():
        pytest.fail(f"{message}: CI must provide it, so that this check runs", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_tool(name: str, install: str) -> str:
    """The path of the `name` executable: on PATH or beside this interpreter (a wheel's)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        missing(f"`{name}`", install)
    return found


def require_module(name: str, install: str) -> ModuleType:
    """`import name`, for a test that needs an optional dependency."""
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"the `{name}` module", install)


@pytest.fixture(scope="module")
def uniq(request: pytest.FixtureRequest) -> Callable[..., str]:
    """`uniq()` -> a fresh name such as `runs-1f2e3d4c` (the prefix defaults to the
    test module's name), so tests sharing one platform never collide."""
    default = request.module.__name__.rpartition(".")[2].removeprefix("test_").replace("_", "-")

    def make(prefix: str = default) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    return make
