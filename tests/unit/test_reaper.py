"""The reaper kills the process groups it watches once its parent is gone."""

from __future__ import annotations

import subprocess

from switchyard.core.reaper import Reaper


def group(command: str = "sleep 30") -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sh", "-c", f"{command} & wait"], start_new_session=True)


def test_closing_kills_watched_groups_and_spares_forgotten_ones() -> None:
    watched, forgotten = group(), group()
    with Reaper() as reaper:
        reaper.watch(watched.pid)
        reaper.watch(forgotten.pid)
        reaper.forget(forgotten.pid)
    assert watched.wait(5) == -9
    assert forgotten.poll() is None
    forgotten.kill()
    forgotten.wait()


def test_a_dead_helper_is_replaced_and_told_every_group() -> None:
    first, second = group(), group()
    with Reaper() as reaper:
        reaper.watch(first.pid)
        reaper._proc.kill()  # the helper alone dies (OOM killer, a stray kill -9)
        reaper._proc.wait()
        reaper.watch(second.pid)
    assert (first.wait(5), second.wait(5)) == (-9, -9)
