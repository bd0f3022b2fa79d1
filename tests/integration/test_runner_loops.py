"""A background loop that dies makes its service not ready, with the reason.

Loops retry what they can survive (see core/transient.py); one that ends
anyway must not leave `/readyz` saying 200 while the work it does stops.
"""

from __future__ import annotations

import asyncio
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from switchyard.core.config import Settings
from switchyard.core.runner import Bound, serve
from switchyard.core.service_spec import ServiceSpec

LOOPS = """
import asyncio


async def setup(runtime):
    async def steady():
        await asyncio.Event().wait()

    async def doomed():
        await asyncio.sleep(0.3)
        raise RuntimeError("lost its way")

    runtime.background(steady(), "steady")
    runtime.background(doomed(), "doomed")
"""


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


async def test_a_dead_loop_fails_readiness_and_shows_in_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sy_loops_probe.py").write_text(textwrap.dedent(LOOPS))
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = ServiceSpec("loops", None, 0, "sy_loops_probe:setup", needs=frozenset())
    stop, bound = asyncio.Event(), asyncio.Future[Bound]()
    serving = asyncio.create_task(
        serve(spec, Settings(http_port=0), stop=stop, on_ready=bound.set_result)
    )
    try:
        probes = (await asyncio.wait_for(bound, 10)).http
        assert await asyncio.to_thread(_get, f"{probes}/readyz") == (200, "ready\n")
        await asyncio.sleep(0.6)
        status, body = await asyncio.to_thread(_get, f"{probes}/readyz")
        assert status == 503 and "doomed" in body and "lost its way" in body
        assert "steady" not in body
        _, metrics = await asyncio.to_thread(_get, f"{probes}/metrics")
        assert 'switchyard_loop_running{loop="doomed",service="loops"} 0.0' in metrics
        assert 'switchyard_loop_running{loop="steady",service="loops"} 1.0' in metrics
    finally:
        stop.set()
        await asyncio.wait_for(serving, 10)
