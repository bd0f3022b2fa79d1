"""The committed protobuf modules must match what protoc makes from protos/."""

from pathlib import Path

import pytest

from switchyard.dev import protogen

pytest.importorskip("grpc_tools")


def test_generated_modules_are_fresh(tmp_path: Path) -> None:
    fresh = {p.name: p.read_text() for p in protogen.generate(tmp_path)}
    committed_dir = protogen.OUT_ROOT / "v1"
    committed = {
        p.name: p.read_text()
        for p in committed_dir.iterdir()
        if p.suffix in (".py", ".pyi") and p.name != "__init__.py"
    }
    assert sorted(committed) == sorted(fresh), "run: python -m switchyard.dev.protogen"
    stale = [name for name, text in fresh.items() if committed[name] != text]
    assert not stale, f"stale generated modules {stale}; run: python -m switchyard.dev.protogen"
