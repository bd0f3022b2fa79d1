"""Generate the committed protobuf/gRPC modules from `protos/`.

`python -m switchyard.dev.protogen` regenerates `libs/switchyard/proto/`;
tests call `generate()` into a temporary folder and compare, so a stale
module fails the build. protoc names imports after the proto package
(`switchyard.v1`); they are rewritten to where the modules live
(`switchyard.proto.v1`) so the package needs no path hacks.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROTO_ROOT = ROOT / "protos"
OUT_ROOT = ROOT / "libs" / "switchyard" / "proto"
_IMPORT = re.compile(r"^from switchyard\.v1 import", re.MULTILINE)


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.glob("switchyard/v1/*.proto"))


def generate(out_root: Path = OUT_ROOT) -> list[Path]:
    """Run protoc into `out_root`; return the generated files."""
    import tempfile

    import grpc_tools
    from grpc_tools import protoc

    include = Path(grpc_tools.__file__).parent / "_proto"
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    target = out_root / "v1"
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{include}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            *files,
        ]
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed")
        generated = []
        for src in sorted((Path(tmp) / "switchyard" / "v1").glob("*.py*")):
            dst = target / src.name
            dst.write_text(_IMPORT.sub("from switchyard.proto.v1 import", src.read_text()))
            generated.append(dst)
    for pkg in (out_root, target):
        (pkg / "__init__.py").touch()
    return generated


if __name__ == "__main__":
    for path in generate():
        print(path.relative_to(ROOT))
    sys.exit(0)
