"""Deploy on promote: react to `sy.registry.alias.set` for a model's champion.

Start the platform (`switchyard up`), run this script, then promote a version
from another terminal:

    switchyard models alias fraud-detector champion 2

The script loads the version the alias now names and checks it answers. Run
with `--demo` to register two versions and move the alias itself. A durable
subscription (`durable=`) would resume after a restart without missing a move.
"""

from __future__ import annotations

import argparse
import threading

import numpy as np

import switchyard as sy

MODEL = "fraud-detector"
ALIAS = "champion"


def deploy(event: sy.Event) -> None:
    change = event.data  # an AliasChanged: enough to act without calling back
    if change.name != MODEL or change.alias != ALIAS:
        return
    was = f" (was v{change.previous_version})" if change.previous_version else ""
    print(f"deploy {change.name} v{change.version}{was} from {change.storage_location}")
    # The version the event names: the alias may have moved on by now.
    model = sy.load_model(f"models:/{change.name}/{change.version}")
    print(f"  {model.flavor} model loaded; predict -> {model.predict(np.ones((1, 3)))}")


def demo() -> None:
    """Two versions of a tiny model, then promote each in turn."""
    with sy.start_run(run_name="registry-demo"):
        for bias in (0.0, 1.0):
            sy.log_model(
                lambda x, b=bias: np.asarray(x).sum(axis=1) + b,
                f"model-{bias:g}",
                registered_model_name=MODEL,
            )
    client = sy.Client()
    latest = max(v.version for v in client.search_model_versions(f"name = '{MODEL}'"))
    for version in (latest - 1, latest):
        client.set_registered_model_alias(MODEL, ALIAS, version)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="register and promote versions")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long")
    args = parser.parse_args()
    with sy.subscribe("sy.registry.alias.set", deploy):
        print(f"waiting for {MODEL}@{ALIAS} to move (Ctrl-C to stop)")
        if args.demo:
            demo()
        stop = threading.Event()
        try:
            stop.wait(args.seconds or (5 if args.demo else None))
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
