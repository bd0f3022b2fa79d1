"""What a worker finds it has: NVIDIA GPUs through `nvidia-smi`, or what it is told."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from switchyard.proto.v1 import scheduler_pb2 as pb
from switchyard.services.trainer_worker.resources import Gpu, Ledger, detect_gpus, gpu_type

SMI_OUTPUT = "0, NVIDIA H100 80GB HBM3, 81559\n1, NVIDIA H100 80GB HBM3, 81559\n"


def fake_smi(folder: Path, body: str) -> None:
    """An `nvidia-smi` executable on PATH that answers the worker's query."""
    smi = folder / "nvidia-smi"
    smi.write_text(f"#!/bin/sh\n{body}\n")
    smi.chmod(smi.stat().st_mode | stat.S_IXUSR)


def test_gpus_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The worker asks for exactly these columns, without units: check it does.
    query = "--query-gpu=index,name,memory.total --format=csv,noheader,nounits"
    fake_smi(tmp_path, f'[ "$*" = "{query}" ] || exit 2\nprintf "{SMI_OUTPUT}"')
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    name = "NVIDIA H100 80GB HBM3"
    assert detect_gpus() == [Gpu(0, name, 81559), Gpu(1, name, 81559)]
    found = Ledger.detect(cpus=4, memory_mb=1000)
    assert (found.gpus, found.gpu_type) == ([0, 1], "h100")
    assert Ledger.detect(cpus=4, gpus=1, memory_mb=1000).gpus == [0]  # --gpus caps it


def test_failing_or_absent_nvidia_smi_means_no_gpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_smi(tmp_path, "echo 'NVIDIA-SMI has failed' >&2; exit 9")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert detect_gpus() == []
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert detect_gpus() == []
    assert Ledger.detect(cpus=1, gpus=2, memory_mb=10).gpus == [0, 1]  # told, not found


def test_gpu_type_from_marketing_names() -> None:
    assert gpu_type("NVIDIA H100 80GB HBM3") == "h100"
    assert gpu_type("NVIDIA A100-SXM4-80GB") == "a100"
    assert gpu_type("Tesla V100-SXM2-16GB") == "v100"
    assert gpu_type("NVIDIA GeForce RTX 4090") == "rtx4090"
    assert gpu_type("NVIDIA L4") == "l4"
    assert gpu_type("") == ""


def test_ledger_hands_out_each_gpu_once() -> None:
    ledger = Ledger(cpus=4, memory_mb=1000, gpus=[0, 1], gpu_type="h100")
    one = pb.Resources(cpus=1, gpus=1)
    first, second = ledger.take(one), ledger.take(one)
    assert sorted(first + second) == [0, 1]
    assert not ledger.fits(one)  # both GPUs are held
    assert not ledger.fits(pb.Resources(cpus=1, gpus=1, gpu_type="a100"))
    ledger.give(one, first)
    assert ledger.fits(pb.Resources(cpus=1, gpus=1, gpu_type="h100"))
    assert ledger.take(one) == first
