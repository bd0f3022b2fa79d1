"""`python -m switchyard.core.serve NAME`: one part of the platform by its spec.

What `switchyard up` starts for each service and for its trainer-worker,
configured by `SWITCHYARD_*` variables alone. It imports no CLI framework:
typer and rich would cost every long-lived process about 5 MB for nothing.
`switchyard serve NAME` and `switchyard worker` remain the commands people
type (they parse flags, then run the same runner).
"""

from __future__ import annotations

import sys

from switchyard.core.service_spec import spec


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m switchyard.core.serve NAME")
    try:
        found = spec(args[0])
    except KeyError as exc:
        raise SystemExit(str(exc.args[0])) from None
    from switchyard.core.runner import run

    run(found)


if __name__ == "__main__":
    main()
