"""The CLI imports lazily: building `switchyard`'s commands loads no SDK.

Every invocation imports `switchyard.cli.main`, and `switchyard up` stays
resident for the platform's life, so the command modules keep the SDK,
gRPC, NATS, protobuf and settings imports inside the functions that use
them. A fresh interpreter is the only honest check: in this process other
tests have long since imported all of them.
"""

import subprocess
import sys

HEAVY = (
    "asyncpg",
    "google.protobuf",
    "grpc",
    "nats",
    "numpy",
    "pydantic_settings",
    "switchyard.errors",  # imports grpc
    "switchyard.sdk.client",
)


def test_building_the_cli_loads_no_sdk() -> None:
    probe = (
        "import sys, switchyard.cli.main\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == []
