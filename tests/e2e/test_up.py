"""`switchyard up` as a user runs it: start, use through the SDK, stop cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

import switchyard as sy
from switchyard.core.config import Settings

pytestmark = pytest.mark.e2e


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(
                f"switchyard up exited:\n{proc.stdout.read() if proc.stdout else ''}"
            )
        if time.monotonic() > deadline:
            raise AssertionError("switchyard up did not become ready")
        time.sleep(0.1)


async def _doors_are_closed(home: Path) -> None:
    """Only the platform gets into its PostgreSQL and NATS, and a service's role only
    into its own schema (issue: any local user could `COPY ... FROM PROGRAM`)."""
    import asyncpg

    endpoints = json.loads((home / "endpoints.json").read_text())
    db = urlsplit(endpoints["database"])
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(f"postgresql://postgres@{db.hostname}:{db.port}/switchyard")
    service_dsn = (
        f"postgresql://sy_registry:"
        f"{json.loads((home / 'postgres' / 'credentials.json').read_text())['sy_registry']}"
        f"@{db.hostname}:{db.port}/switchyard"
    )
    conn = await asyncpg.connect(service_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM registry.outbox") >= 0  # its own
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM tracking.runs LIMIT 1")  # another's
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("COPY (SELECT 1) TO PROGRAM 'true'")
    finally:
        await conn.close()
    # NATS without the platform's credentials: the protocol by hand, so that a
    # refused client leaves nothing behind for the next test.
    bus = urlsplit(endpoints["nats"])
    with socket.create_connection((bus.hostname or "", bus.port or 0), timeout=5) as sock:
        stream = sock.makefile("rwb")
        assert stream.readline().startswith(b"INFO ")
        stream.write(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        stream.flush()
        assert b"Authorization Violation" in stream.readline()


def test_up_serves_the_sdk_and_stops_cleanly_even_when_told_twice(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env["SWITCHYARD_HOME"] = str(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchyard.cli.main", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(home / "endpoints.json", proc, 90)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 3  # nats, postgres (+ its workers), tracking

        settings = Settings(home=home)
        with sy.Client(settings=settings) as client:
            exp = client.create_experiment("e2e")
            run = client.create_run(exp, run_name="first")
            client.log_batch(run.info.run_id, [sy.Metric("loss", 0.25, 0, 1)], params={"lr": "0.1"})
            client.set_terminated(run.info.run_id)
            found = client.search_runs([exp], "metrics.loss < 0.5 and params.lr = '0.1'")
            assert [r.info.run_id for r in found] == [run.info.run_id]
            assert found[0].info.status == "FINISHED"
        asyncio.run(_doors_are_closed(home))
    finally:
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)  # told twice, as an impatient Ctrl-C: still stops all
        output, _ = proc.communicate(timeout=60)

    assert proc.returncode == 0, output
    assert not (home / "endpoints.json").exists()
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert (home / "postgres" / "pgdata" / "PG_VERSION").exists()  # data kept for the next up


def test_up_with_embedded_s3_stores_artifacts(tmp_path: Path) -> None:
    pytest.importorskip("switchyard.dev.seaweed")
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env["SWITCHYARD_HOME"] = str(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchyard.cli.main", "up", "--object-store", "s3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(home / "endpoints.json", proc, 90)
        local = tmp_path / "model"
        (local / "weights").mkdir(parents=True)
        (local / "weights" / "w.bin").write_bytes(b"\x00" * 1024)
        (local / "config.json").write_text("{}")
        with sy.Client(settings=Settings(home=home)) as client:
            run = client.create_run(client.create_experiment("s3-e2e"))
            assert run.info.artifact_uri.startswith("s3://switchyard/")
            client.log_artifacts(run.info.run_id, local, "model")
            listed = {f.path: f for f in client.list_artifacts(run.info.run_id, "model")}
            assert listed["model/weights"].is_dir and listed["model/config.json"].file_size == 2
            got = Path(
                client.download_artifacts(run.info.run_id, "model/weights/w.bin", tmp_path / "dl")
            )
            assert got.read_bytes() == b"\x00" * 1024
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output


def test_up_demo_logs_a_run_and_serves_a_model(tmp_path: Path) -> None:
    """The README's first command: the demo shows tracking, the registry and serving."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env["SWITCHYARD_HOME"] = str(home)
    env["COLUMNS"] = "200"
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchyard.cli.main", "up", "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "ready — Ctrl-C" in line or "Error" in line:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    printed = "".join(lines) + rest
    assert "FINISHED: loss" in printed, printed
    assert "deployment demo READY: predict([[1.0, 2.0, 3.0, 4.0]]) = [11.1]" in printed, printed
    assert proc.returncode == 0, printed
