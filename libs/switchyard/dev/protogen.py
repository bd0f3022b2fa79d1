"""Generate the committed protobuf/gRPC modules from `protos/`.

`python -m switchyard.dev.protogen` regenerates `libs/switchyard/proto/`;
tests call `generate()` into a temporary folder and compare, so a stale
module fails the build.

The generator is pinned (`GENERATOR`), not whatever grpcio-tools happens
to be installed: generated code checks at import that the runtime is at
least as new as the generator, so a library generates with the oldest
toolchain it supports, and pyproject's `grpcio` and `protobuf` floors are
exactly the versions written into the modules (a unit test holds them
together). The pinned grpcio-tools lives in a venv of its own under the
user's cache (`toolvenv`), made on first use, so it never constrains the
project's own environment. protoc names imports after the proto package
(`switchyard.v1`); they are rewritten to where the modules live
(`switchyard.proto.v1`).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from switchyard.dev.toolvenv import cached_venv

ROOT = Path(__file__).resolve().parents[3]
PROTO_ROOT = ROOT / "protos"
OUT_ROOT = ROOT / "libs" / "switchyard" / "proto"

# grpcio-tools 1.63.2 bundles protoc 26.1: modules for protobuf >= 5.26.1
# (its gencode does no runtime version check, so protobuf 6 and 7 load them
# too) that say GRPC_GENERATED_VERSION = "1.63.2" (grpcio >= 1.63.2).
GENERATOR_VERSION = "1.63.2"
PROTOBUF_GENCODE = "5.26.1"
_IMPORT = re.compile(r"^from switchyard\.v1 import", re.MULTILINE)


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.glob("switchyard/v1/*.proto"))


def toolchain() -> Path:
    """The python of a venv holding exactly grpcio-tools==GENERATOR_VERSION."""
    return cached_venv(f"grpcio-tools-{GENERATOR_VERSION}", [f"grpcio-tools=={GENERATOR_VERSION}"])


def generate(out_root: Path = OUT_ROOT) -> list[Path]:
    """Run the pinned protoc into `out_root`; return the generated files."""
    python = toolchain()
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    target = out_root / "v1"
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # The well-known types ship inside grpc_tools; protoc finds them there.
        script = (
            "import sys, pathlib, grpc_tools\n"
            "from grpc_tools import protoc\n"
            "include = pathlib.Path(grpc_tools.__file__).parent / '_proto'\n"
            "sys.exit(protoc.main(['protoc', f'-I{include}', *sys.argv[1:]]))\n"
        )
        args = [
            f"-I{PROTO_ROOT}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            *files,
        ]
        done = subprocess.run([str(python), "-c", script, *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"protoc failed:\n{done.stderr}")
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
