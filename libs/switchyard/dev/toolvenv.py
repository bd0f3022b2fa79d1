"""Venvs of their own for developer tools whose pins clash with the project's.

`cached_venv("grpcio-tools-1.63.2", ["grpcio-tools==1.63.2"])` returns the
python of a venv under the user's cache (`$XDG_CACHE_HOME` or `~/.cache`,
then `switchyard/<name>`), made on first use. The name must say everything
the requirements pin: a venv is never updated, only made once.

A marker file is written only after pip succeeds, so an interrupted or
failed install is redone from scratch next time; a file lock beside the
venv makes a second process (another pytest worker, another shell) wait
for the first instead of installing into the same folder at once.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import venv
from pathlib import Path

_MARKER = ".installed"


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "switchyard"


def cached_venv(name: str, requirements: list[str]) -> Path:
    """The python of the venv `name` holding `requirements`; made on first use.

    Raises `subprocess.CalledProcessError` when pip fails (its output went to
    stderr); the next call tries again.
    """
    home = cache_root() / name
    python = home / "bin" / "python"
    marker = home / _MARKER
    if marker.exists():  # the common case: no lock, no subprocess
        return python
    home.parent.mkdir(parents=True, exist_ok=True)
    # The lock lives beside the venv, not inside it: `clear=True` empties the folder.
    with open(home.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():  # whoever held the lock may have made it meanwhile
            venv.create(home, with_pip=True, clear=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", *requirements], check=True
            )
            marker.touch()
    return python
