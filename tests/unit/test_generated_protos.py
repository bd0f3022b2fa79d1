"""The committed protobuf modules: fresh, and honest about what they need.

The modules come from a pinned generator (`protogen.GENERATOR_VERSION`),
so a new grpcio-tools release changes nothing here; pyproject's grpcio and
protobuf floors must be exactly the versions the modules were made for,
since older runtimes refuse (or mis-load) newer generated code.
"""

import re
from pathlib import Path

from packaging.specifiers import SpecifierSet

from switchyard.dev import deps, protogen

COMMITTED = protogen.OUT_ROOT / "v1"


def _committed() -> dict[str, str]:
    return {
        p.name: p.read_text()
        for p in COMMITTED.iterdir()
        if p.suffix in (".py", ".pyi") and p.name != "__init__.py"
    }


def test_generated_modules_are_fresh(tmp_path: Path) -> None:
    fresh = {p.name: p.read_text() for p in protogen.generate(tmp_path)}
    committed = _committed()
    assert sorted(committed) == sorted(fresh), "run: python -m switchyard.dev.protogen"
    stale = [name for name, text in fresh.items() if committed[name] != text]
    assert not stale, f"stale generated modules {stale}; run: python -m switchyard.dev.protogen"


def test_modules_say_the_pinned_generator_made_them() -> None:
    for name, text in _committed().items():
        if name.endswith("_pb2.py"):
            found = re.search(r"^# Protobuf Python Version: (\S+)$", text, re.MULTILINE)
            assert found and found.group(1) == protogen.PROTOBUF_GENCODE, name
        if name.endswith("_pb2_grpc.py"):
            found = re.search(r"^GRPC_GENERATED_VERSION = '(\S+)'$", text, re.MULTILINE)
            assert found and found.group(1) == protogen.GENERATOR_VERSION, name


def test_runtime_floors_are_the_generators_versions() -> None:
    reqs = {r.name: r for r in deps.direct_requirements()}
    # The generated code needs these at least; asking for more would be a lie
    # that keeps Switchyard out of environments where it works.
    assert reqs["protobuf"].floor == protogen.PROTOBUF_GENCODE
    for name in ("grpcio", "grpcio-health-checking", "grpcio-reflection"):
        assert reqs[name].floor == protogen.GENERATOR_VERSION, name
    # A protobuf major that the gencode runs on is admitted; the next is not.
    assert "7.36.2" in SpecifierSet(reqs["protobuf"].spec)
    assert "8.0.0" not in SpecifierSet(reqs["protobuf"].spec)
