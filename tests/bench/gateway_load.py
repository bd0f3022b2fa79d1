"""The load bench_gateway.py puts on the gateway and on a replica: OIP REST from
serving_load.py (with aiohttp) or a raw asyncio keep-alive client, OIP gRPC from
grpc.aio loops, and the CPU each process of the platform spends meanwhile.
Every answer's value is checked against the model y = X·[1, -2, 0.5, 3] + 0.25."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import psutil

from switchyard.serving.oip_grpc import InferenceStub, request_to_proto, response_from_proto

COEF = np.array([1.0, -2.0, 0.5, 3.0])
INTERCEPT = 0.25
ROWS = np.random.default_rng(7).uniform(-2, 2, size=(64, 4)).round(3)


def expected(row: np.ndarray) -> float:
    return float(row @ COEF + INTERCEPT)


def correct(got: float, want: float) -> bool:
    # serving_load.py sends FP32: ~1e-6 relative
    return abs(got - want) <= 1e-4 + 1e-5 * abs(want)


# --------------------------------------------------------------------------- CPU per request
@dataclass
class CpuShare:
    """CPU seconds of the platform's processes over one measurement."""

    pids: dict[str, list[psutil.Process]]
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, platform: subprocess.Popen[bytes]) -> CpuShare:
        groups: dict[str, list[psutil.Process]] = {"gateway": [], "replica": [], "other": []}
        for proc in psutil.Process(platform.pid).children(recursive=True):
            try:
                line = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            if "serve gateway" in line:
                groups["gateway"].append(proc)
            elif "switchyard.serving.replica" in line:
                groups["replica"].append(proc)
            else:
                groups["other"].append(proc)
        return cls(groups)

    def _read(self) -> dict[str, float]:
        seconds = {}
        for group, procs in self.pids.items():
            total = 0.0
            for proc in procs:
                try:
                    times = proc.cpu_times()
                except psutil.Error:
                    continue
                total += times.user + times.system
            seconds[group] = total
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        seconds["client"] = usage.ru_utime + usage.ru_stime + own.ru_utime + own.ru_stime
        return seconds

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> None:
        self.after = self._read()

    def per_request_us(self, requests: int) -> dict[str, float]:
        n = max(requests, 1)
        return {k: (self.after[k] - self.before[k]) / n * 1e6 for k in self.before}


# --------------------------------------------------------------------------- load
@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    ok: int  # in the measured window
    total: int  # every request sent, warm-up included (for CPU per request)
    errors: int
    wrong: int


def oip_body(row: np.ndarray) -> bytes:
    tensor = {"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": row.tolist()}
    return json.dumps({"inputs": [tensor]}).encode()


async def _raw_load(url: str, model: str, clients: int, duration: float, warmup: float) -> Load:
    """Closed loop: `clients` keep-alive HTTP/1.1 connections, one request in flight each."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = f"/v2/models/{model}/infer"
    requests = []
    for row in ROWS:
        body = oip_body(row)
        head = (
            f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        requests.append((head.encode() + body, expected(row)))
    loop = asyncio.get_running_loop()
    began = loop.time()
    measured, end = began + warmup, began + warmup + duration
    latencies: list[float] = []
    counts = {"total": 0, "errors": 0, "wrong": 0}

    async def client(k: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        i = k
        try:
            while loop.time() < end:
                data, want = requests[i % len(requests)]
                i += clients
                sent = time.perf_counter()
                writer.write(data)
                head = await reader.readuntil(b"\r\n\r\n")
                lower = head.lower()
                at = lower.index(b"content-length:") + 15
                body = await reader.readexactly(int(lower[at : lower.index(b"\r\n", at)]))
                took = time.perf_counter() - sent
                counts["total"] += 1
                if head[9:12] != b"200":
                    counts["errors"] += 1
                    continue
                if not correct(json.loads(body)["outputs"][0]["data"][0], want):
                    counts["wrong"] += 1
                    continue
                if measured <= loop.time() < end:
                    latencies.append(took)
        finally:
            writer.close()

    await asyncio.gather(*(client(k) for k in range(clients)))
    latencies.sort()
    return Load(
        rps=len(latencies) / duration,
        p50_ms=latencies[len(latencies) // 2] * 1e3 if latencies else float("nan"),
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1e3 if latencies else float("nan"),
        ok=len(latencies),
        total=counts["total"],
        errors=counts["errors"],
        wrong=counts["wrong"],
    )


def _load_python(scripts: Path) -> str | None:
    """A Python with aiohttp for serving_load.py: this one, or the peers' bench venv."""
    if not (scripts / "serving_load.py").exists():
        return None
    bench_dir = Path(os.environ.get("BENCH_DIR", "/tmp/serving-bench"))
    for python in (sys.executable, str(bench_dir / "bench" / "bin" / "python")):
        probe = subprocess.run([python, "-c", "import aiohttp"], capture_output=True, check=False)
        if Path(python).exists() and probe.returncode == 0:
            return python
    return None


class LoadGenerator:
    def __init__(self, scripts: Path, duration: float, warmup: float) -> None:
        self.scripts = scripts
        self.python = _load_python(scripts)
        self.duration, self.warmup = duration, warmup

    @property
    def name(self) -> str:
        if self.python:
            return f"serving_load.py load --mode oip ({self.python})"
        return "the raw asyncio client in bench_gateway.py"

    def run(self, url: str, model: str, clients: int) -> Load:
        if self.python is None:
            return asyncio.run(_raw_load(url, model, clients, self.duration, self.warmup))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "load.jsonl"
            subprocess.run(
                [
                    self.python, str(self.scripts / "serving_load.py"), "load",
                    "--url", url, "--mode", "oip", "--model", model, "-c", str(clients),
                    "--duration", str(self.duration), "--warmup", str(self.warmup),
                    "--quiet-sample", "0.2", "--verify-every", "1", "--json", str(out),
                ],
                stdout=subprocess.DEVNULL,
                check=False,
            )  # fmt: skip
            res = json.loads(out.read_text().splitlines()[-1])
        return Load(
            rps=res["rps"],
            p50_ms=res["p50_ms"],
            p99_ms=res["p99_ms"],
            ok=res["requests_ok"],
            total=res["requests_ok"] + res["errors"] + res["warmup_ok"] + res["warmup_errors"],
            errors=res["errors"] + res["warmup_errors"],
            wrong=res["wrong_values"],
        )


async def _grpc_load(address: str, model: str, clients: int, duration: float, warmup: float):  # type: ignore[no-untyped-def]
    import grpc

    requests = [
        (request_to_proto(model, {"input-0": row.reshape(1, 4)}), expected(row)) for row in ROWS
    ]
    async with grpc.aio.insecure_channel(address) as channel:
        stub = InferenceStub(channel)
        loop = asyncio.get_running_loop()
        began = loop.time()
        measured, end = began + warmup, began + warmup + duration
        latencies: list[float] = []
        counts = {"total": 0, "wrong": 0}

        async def client(k: int) -> None:
            i = k
            while loop.time() < end:
                request, want = requests[i % len(requests)]
                i += clients
                sent = time.perf_counter()
                reply = await stub.ModelInfer(request, timeout=30)
                took = time.perf_counter() - sent
                counts["total"] += 1
                (out,) = response_from_proto(reply).values()
                if not correct(float(out.ravel()[0]), want):
                    counts["wrong"] += 1
                elif measured <= loop.time() < end:
                    latencies.append(took)

        await asyncio.gather(*(client(k) for k in range(clients)))
    latencies.sort()
    return Load(
        rps=len(latencies) / duration,
        p50_ms=latencies[len(latencies) // 2] * 1e3 if latencies else float("nan"),
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1e3 if latencies else float("nan"),
        ok=len(latencies),
        total=counts["total"],
        errors=0,
        wrong=counts["wrong"],
    )


# --------------------------------------------------------------------------- peers
