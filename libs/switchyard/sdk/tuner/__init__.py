"""Hyperparameter search: `sy.tune` and the `Study` it returns.

    study = sy.tune(
        ["python", "train.py", "--lr", "{lr}", "--layers", "{layers}"],
        {"lr": sy.space.loguniform(1e-4, 1e-1), "layers": sy.space.randint(1, 4)},
        metric="val_loss", mode="min", num_trials=50, parallel=4,
        early_stopping="median",
    )
    print(study.wait().best_trial.params)

Trials are scheduler jobs run by the tuner service; each has its own
tracking run, nested under the study's, into which the trial code logs with
the ordinary SDK (`sy.log_metric(metric, value, step=...)`). The objective
is a command (`{name}` placeholders; the values are also in
`SWITCHYARD_PARAM_<NAME>`) or a Python function `fn(params) -> float | None`,
shipped to the workers by value (cloudpickle) so it need not be installed
there; a number it returns is logged as the trial's final value.

With `reuse_processes=True` (a function objective only) the study keeps
`parallel` long-lived runner jobs that run trial after trial, so small
trials do not pay a process start each; a pruned trial stops at its next
`sy.log_metric` of the objective, which raises `TrialPruned`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from switchyard.core.config import Settings
from switchyard.errors import FailedPrecondition, InvalidArgument
from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.sdk.jobs._specs import job_spec
from switchyard.sdk.rpcs import tuner as rpc
from switchyard.sdk.transport import Transport
from switchyard.sdk.tuner import space as spaces
from switchyard.sdk.tuner._reuse import TrialPruned
from switchyard.sdk.tuner.space import Dimension

if TYPE_CHECKING:
    import pandas

STATES = {
    pb.STUDY_RUNNING: "RUNNING",
    pb.STUDY_COMPLETED: "COMPLETED",
    pb.STUDY_FAILED: "FAILED",
    pb.STUDY_STOPPED: "STOPPED",
}
TRIAL_STATES = {
    pb.TRIAL_RUNNING: "RUNNING",
    pb.TRIAL_COMPLETED: "COMPLETED",
    pb.TRIAL_PRUNED: "PRUNED",
    pb.TRIAL_FAILED: "FAILED",
}
RULES = {None: "", "median": "median", "asha": "asha", "hyperband": "hyperband"}


@dataclass(frozen=True)
class Trial:
    number: int
    state: str
    params: dict[str, Any]
    values: tuple[float, ...]  # one per objective, once COMPLETED
    run_id: str
    job_id: str
    last_step: int
    message: str

    @property
    def value(self) -> float | None:
        return self.values[0] if self.values else None

    @classmethod
    def from_proto(cls, t: pb.Trial) -> Trial:
        return cls(
            number=t.number,
            state=TRIAL_STATES.get(t.state, "UNKNOWN"),
            params={k: json.loads(v) for k, v in sorted(t.params.items())},
            values=tuple(t.values),
            run_id=t.run_id,
            job_id=t.job_id,
            last_step=t.last_step,
            message=t.message,
        )


class Study:
    """A study on the platform; properties read its latest state."""

    def __init__(self, proto: pb.Study, transport: Transport) -> None:
        self._proto = proto
        self._transport = transport

    @property
    def id(self) -> str:
        return self._proto.study_id

    @property
    def name(self) -> str:
        return self._proto.spec.name

    @property
    def state(self) -> str:
        return STATES.get(self._proto.state, "UNKNOWN")

    @property
    def run_id(self) -> str:
        return self._proto.run_id

    @property
    def message(self) -> str:
        return self._proto.message

    @property
    def done(self) -> bool:
        return self._proto.state != pb.STUDY_RUNNING

    def refresh(self) -> Study:
        self._proto = _get(self._transport, self.id)
        return self

    def wait(self, timeout: float | None = None, *, poll: float = 0.5) -> Study:
        """Block until the study ends (or `timeout` seconds); returns itself."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.refresh().done:
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(poll)
        return self

    def stop(self) -> Study:
        """Stop the study: its running trials are stopped, none more start."""
        reply = self._transport.send(rpc.STOP_STUDY, pb.StopStudyRequest(study_id=self.id))
        self._proto = reply.study
        return self

    @property
    def best_trial(self) -> Trial | None:
        """The best completed trial so far (single objective; see `pareto_front`)."""
        self.refresh()
        best = self._proto.best_trial
        return Trial.from_proto(best) if best.study_id else None

    @property
    def pareto_front(self) -> list[Trial]:
        """The non-dominated trials of a multi-objective study."""
        self.refresh()
        return [Trial.from_proto(t) for t in self._proto.pareto_front]

    @property
    def trials(self) -> list[Trial]:
        """Every trial so far, by number."""
        reply = self._transport.send(rpc.LIST_TRIALS, pb.ListTrialsRequest(study_id=self.id))
        return [Trial.from_proto(t) for t in reply.trials]

    def trials_dataframe(self) -> pandas.DataFrame:
        """One row per trial: number, state, value(s), params.<name>, run_id."""
        try:
            import pandas
        except ImportError:
            raise FailedPrecondition(
                "trials_dataframe needs pandas: pip install pandas", field="pandas"
            ) from None
        rows = []
        for t in self.trials:
            row: dict[str, Any] = {"number": t.number, "state": t.state, "value": t.value}
            for i, v in enumerate(t.values[1:], start=1):
                row[f"value_{i}"] = v
            row.update({f"params.{k}": v for k, v in t.params.items()})
            row.update(run_id=t.run_id, job_id=t.job_id, last_step=t.last_step)
            rows.append(row)
        return pandas.DataFrame(rows)

    def __repr__(self) -> str:
        return f"<Study {self.name} {self.state}>"


def tune(
    objective: Callable[[dict[str, Any]], float | None] | Sequence[str],
    space: Mapping[str, Dimension],
    *,
    metric: str | Sequence[str],
    mode: str | Sequence[str] = "min",
    num_trials: int,
    parallel: int = 1,
    algorithm: str = "tpe",
    early_stopping: str | None = None,
    seed: int | None = None,
    experiment: str | None = None,
    name: str | None = None,
    cpus: float = 1,
    memory: int | str | None = None,
    gpus: int = 0,
    pool: str | None = None,
    max_failed_trials: int | None = None,
    time_budget_s: float | None = None,
    reuse_processes: bool = False,
    settings: Settings | None = None,
) -> Study:
    """Start a study on the tuner service; returns at once (`.wait()` blocks)."""
    if reuse_processes and not callable(objective):
        raise InvalidArgument(
            "reuse_processes needs a Python function objective: a command runs one trial"
            " per process",
            field="reuse_processes",
        )
    if early_stopping not in RULES:
        raise InvalidArgument(
            f"early_stopping must be 'median', 'asha', 'hyperband' or None, not {early_stopping!r}",
            field="early_stopping",
        )
    settings = settings or Settings()
    transport = _transport(settings)
    command = (
        _function_command(objective, space, metric, settings)
        if callable(objective)
        else list(objective)
    )
    spec = pb.StudySpec(
        name=name or "",
        params=spaces.params(space),
        objectives=_objectives(metric, mode),
        algorithm=algorithm,
        early_stopping=pb.EarlyStopping(rule=RULES[early_stopping]),
        trial=job_spec(command, cpus=cpus, memory=memory, gpus=gpus, pool=pool or "default"),
        parallel=parallel,
        max_trials=num_trials,
        max_failed_trials=max_failed_trials or 0,
        time_budget_s=time_budget_s or 0.0,
        has_seed=seed is not None,
        seed=seed or 0,
        experiment=experiment or "",
        reuse_processes=reuse_processes,
    )
    reply = transport.send(rpc.CREATE_STUDY, pb.CreateStudyRequest(spec=spec))
    return Study(reply.study, transport)


def get_study(id_or_name: str, *, settings: Settings | None = None) -> Study:
    transport = _transport(settings or Settings())
    return Study(_get(transport, id_or_name), transport)


def list_studies(*, limit: int = 100, settings: Settings | None = None) -> list[Study]:
    """Studies, newest first."""
    transport = _transport(settings or Settings())
    reply = transport.send(rpc.LIST_STUDIES, pb.ListStudiesRequest(limit=limit))
    return [Study(s, transport) for s in reply.studies]


_transports: dict[str, Transport] = {}
_lock = threading.Lock()


def _transport(settings: Settings) -> Transport:
    # One per distinct settings (by value, not identity: `Settings()` made
    # per call must not open a channel per call), kept for the process.
    key = settings.model_dump_json()
    with _lock:
        found = _transports.get(key)
        if found is None:
            found = _transports[key] = Transport(settings)
        return found


def _get(transport: Transport, id_or_name: str) -> pb.Study:
    request = (
        pb.GetStudyRequest(study_id=id_or_name)
        if _looks_like_id(id_or_name)
        else pb.GetStudyRequest(name=id_or_name)
    )
    return transport.send(rpc.GET_STUDY, request).study


def _looks_like_id(text: str) -> bool:
    try:
        uuid.UUID(hex=text)
    except ValueError:
        return False
    return True


def _objectives(metric: str | Sequence[str], mode: str | Sequence[str]) -> list[pb.Objective]:
    metrics = [metric] if isinstance(metric, str) else list(metric)
    modes = [mode] * len(metrics) if isinstance(mode, str) else list(mode)
    if len(modes) != len(metrics):
        raise InvalidArgument("give one mode per metric", field="mode")
    for m in modes:
        if m not in ("min", "max"):
            raise InvalidArgument(f"mode must be 'min' or 'max', not {m!r}", field="mode")
    return [
        pb.Objective(metric=k, maximize=m == "max") for k, m in zip(metrics, modes, strict=True)
    ]


def _function_command(
    fn: Callable[..., Any],
    space: Mapping[str, Dimension],
    metric: str | Sequence[str],
    settings: Settings,
) -> list[str]:
    """Ship `fn` (by value) to the artifact store; the trials run it via the runner."""
    import sys

    from switchyard.sdk.tuner import _runner

    uri = _runner.ship(fn, space, metric if isinstance(metric, str) else metric[0], settings)
    return [sys.executable if _same_host(settings) else "python", "-m", _runner.__name__, uri]


def _same_host(settings: Settings) -> bool:
    # Workers of the local platform share this interpreter; elsewhere, their python.
    from switchyard.sdk.endpoints import discover

    root = discover(settings).artifact_root or ""
    return root.startswith("file://")


__all__ = ["Study", "Trial", "TrialPruned", "get_study", "list_studies", "tune"]
