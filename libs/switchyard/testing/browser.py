"""Headless Chromium for the web UI's tests, benchmarks and screenshots.

Debian's Chromium (`apt-get install chromium`) or the one `SWITCHYARD_CHROMIUM`
names, started by Playwright through `executable_path`: Playwright's own
browser downloads do not work on machines without the open internet.
"""

from __future__ import annotations

import os
import shutil

FLAGS = [
    # as root there is no sandbox; the rest keep Chromium off the (closed) network
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium() -> str | None:
    """Where Chromium is, or None."""
    return os.environ.get("SWITCHYARD_CHROMIUM") or shutil.which("chromium")
