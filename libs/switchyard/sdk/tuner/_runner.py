"""A Python-function trial: `python -m switchyard.sdk.tuner._runner CODE_URI`.

`sy.tune(fn, ...)` ships `fn` by value (cloudpickle) with the study's space
and metric to the artifact store; each trial's job runs this module, which
loads it, reads the trial's parameters from `SWITCHYARD_PARAM_<NAME>` (typed
by the space), and calls `fn(params)` inside the trial's run (the worker
set `SWITCHYARD_RUN_ID`), so `sy.log_metric` in `fn` reports to the tuner.
A number `fn` returns is logged as the metric's final value, one step
after the last it logged. With `--reuse` the process runs trial after
trial of its study instead (see _reuse.py).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from switchyard.core.artifacts import open_store
from switchyard.core.config import Settings
from switchyard.errors import FailedPrecondition
from switchyard.sdk.endpoints import discover, settings_for_artifacts
from switchyard.sdk.tuner.space import Dimension, kinds


def _cloudpickle() -> Any:
    try:
        import cloudpickle
    except ImportError:
        raise FailedPrecondition(
            "a function objective is shipped with cloudpickle: pip install cloudpickle",
            field="objective",
        ) from None
    return cloudpickle


def ship(
    fn: Callable[..., Any], space: Mapping[str, Dimension], metric: str, settings: Settings
) -> str:
    """Upload the trial code; its URI."""
    cloudpickle = _cloudpickle()
    # By value, its module too (cloudpickle pickles importable modules by
    # reference), so the workers need not have the caller's code installed.
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    by_value = module is not None and module.__name__ not in ("__main__", "builtins")
    if by_value:
        cloudpickle.register_pickle_by_value(module)
    try:
        payload = cloudpickle.dumps({"fn": fn, "space": dict(space), "metric": metric})
    finally:
        if by_value:
            cloudpickle.unregister_pickle_by_value(module)
    endpoints = discover(settings)
    root = endpoints.artifact_root or settings.default_artifact_root()
    store = open_store(f"{root}/tuner-code", settings_for_artifacts(settings, endpoints))
    name = f"{uuid.uuid4().hex}.pkl"
    store.write_bytes(name, payload)
    return f"{root}/tuner-code/{name}"


def params_from_env(space: Mapping[str, Dimension], env: Mapping[str, str]) -> dict[str, Any]:
    """The trial's parameters, typed as the space says (inactive ones left out)."""
    found: dict[str, Any] = {}
    for name, dim in kinds(space).items():
        text = env.get(f"SWITCHYARD_PARAM_{name.upper()}")
        if text is None:
            continue
        if dim.kind == "float":
            found[name] = float(text)
        elif dim.kind == "int":
            found[name] = int(text)
        else:  # the tuner writes a string choice as itself, others as JSON
            found[name] = next(
                (c for c in dim.choices if (c if isinstance(c, str) else json.dumps(c)) == text),
                text,
            )
    return found


def main(uri: str, reuse: bool = False) -> None:
    import switchyard as sy

    settings = Settings()
    folder, _, name = uri.rpartition("/")
    store = open_store(folder, settings_for_artifacts(settings, discover(settings)))
    shipped = _cloudpickle().loads(store.read_bytes(name))
    if reuse:
        from switchyard.sdk.tuner import _reuse

        _reuse.serve(shipped, settings, os.environ[_reuse.RUNNER_ENV])
        sy.flush()
        return
    params = params_from_env(shipped["space"], os.environ)
    value = shipped["fn"](params)
    if value is not None:
        metric = shipped["metric"]
        sy.flush()
        with sy.Client(settings=settings) as client:
            run_id = settings.run_id or ""
            history = client.get_metric_history(run_id, metric) if run_id else []
            step = max((m.step for m in history), default=-1) + 1
        sy.log_metric(metric, float(value), step=step)
    sy.flush()


if __name__ == "__main__":
    main(sys.argv[1], reuse="--reuse" in sys.argv[2:])
