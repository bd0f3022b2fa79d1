"""Runs a decorated pipeline step on a worker: `python -m switchyard.sdk.scheduler_step mod:fn`.

Inputs come as `SY_INPUT_<NAME>` (JSON where it parses, else the text), the
fanned-out member as `SY_ITEM` into the parameter `SY_ITEM_PARAM`; the
returned dict is written to `$SWITCHYARD_OUTPUTS`.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
from typing import Any


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(target: str) -> None:
    sys.path.insert(0, os.getcwd())
    module, _, name = target.partition(":")
    fn: Any = importlib.import_module(module)
    for part in name.split("."):
        fn = getattr(fn, part)
    fn = getattr(fn, "fn", fn)  # the FunctionStep wrapper
    kwargs = {}
    for param in inspect.signature(fn).parameters:
        key = f"SY_INPUT_{param.upper()}"
        if key in os.environ:
            kwargs[param] = _value(os.environ[key])
    if os.environ.get("SY_ITEM_PARAM"):
        kwargs[os.environ["SY_ITEM_PARAM"]] = _value(os.environ.get("SY_ITEM", ""))
    result = fn(**kwargs)
    if result is not None and os.environ.get("SWITCHYARD_OUTPUTS"):
        with open(os.environ["SWITCHYARD_OUTPUTS"], "w") as out:
            json.dump(result, out)


if __name__ == "__main__":
    main(sys.argv[1])
