"""One study's Optuna state, in memory, fed from the tuner's own tables.

`Optimizer` wraps an Optuna study with in-memory storage and the study's
sampler and pruner. A driver keeps one per study it drives, so the
sampler's random sequence runs on as Optuna's would in-process (the same
seed and the same `suggest` calls give the same parameters). After a
restart, or when another replica takes the study over, it is rebuilt from
the stored trials (`optuna.trial.create_trial` + `study.add_trial`); the
trials still running come back as live Optuna trials, with their reported
values and the pruner's bookkeeping (system attributes), so pruning goes on
where it stopped.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.services.tuner import algorithms
from switchyard.services.tuner.space import Space, Value

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialRecord:
    """What the optimizer needs of a stored trial."""

    number: int
    state: pb.TrialState
    params: Mapping[str, Value]
    values: Sequence[float] = ()
    intermediate: Mapping[int, float] = field(default_factory=dict)
    system_attrs: Mapping[str, Any] = field(default_factory=dict)


@contextmanager
def _quiet() -> Iterator[None]:
    """Optuna's experimental-feature warnings are not ours to raise."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


class Optimizer:
    def __init__(
        self, spec: pb.StudySpec, space: Space, trials: Sequence[TrialRecord] = ()
    ) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.space = space
        with _quiet():
            self._study = optuna.create_study(
                storage=None,
                sampler=algorithms.sampler(spec, space, rebuilt_from=len(trials)),
                pruner=algorithms.pruner(spec),
                directions=algorithms.directions(spec),
            )
        self._live: dict[int, optuna.Trial] = {}
        for record in sorted(trials, key=lambda t: t.number):
            self._restore(record)

    def _restore(self, record: TrialRecord) -> None:
        import optuna
        from optuna.trial import TrialState, create_trial

        state = {
            pb.TRIAL_RUNNING: TrialState.RUNNING,
            pb.TRIAL_COMPLETED: TrialState.COMPLETE,
            pb.TRIAL_PRUNED: TrialState.PRUNED,
        }.get(record.state, TrialState.FAIL)
        frozen = create_trial(
            state=state,
            values=list(record.values) if state == TrialState.COMPLETE else None,
            params=dict(record.params),
            distributions=self.space.distributions(record.params),
            intermediate_values=dict(record.intermediate),
            system_attrs=dict(record.system_attrs),
        )
        with _quiet():
            self._study.add_trial(frozen)
        if state == TrialState.RUNNING:
            trial_id = self._study.get_trials(deepcopy=False)[-1]._trial_id
            self._live[record.number] = optuna.Trial(self._study, trial_id)

    def ask(self) -> tuple[int, dict[str, Value]]:
        """The next trial's number and parameters."""
        with _quiet():
            trial = self._study.ask()
            params = self.space.suggest(trial)
        self._live[trial.number] = trial
        return trial.number, params

    def forget(self, number: int) -> None:
        """Drop an asked trial that could not be stored (it is asked again after a rebuild)."""
        self._live.pop(number, None)

    def report(self, number: int, step: int, value: float) -> bool:
        """Give the pruner a reported value; True when the trial should stop."""
        trial = self._live.get(number)
        if trial is None or len(self._study.directions) > 1:
            return False  # Optuna prunes single-objective studies only
        with _quiet():
            if step not in trial.storage.get_trial(trial._trial_id).intermediate_values:
                trial.report(value, step)
            return bool(trial.should_prune())

    def system_attrs(self, number: int) -> dict[str, Any]:
        trial = self._live.get(number)
        if trial is None:
            return {}
        return dict(trial.storage.get_trial(trial._trial_id).system_attrs)

    def tell(self, number: int, state: pb.TrialState, values: Sequence[float] = ()) -> None:
        from optuna.trial import TrialState

        trial = self._live.pop(number, None)
        if trial is None:
            return
        with _quiet():
            try:
                if state == pb.TRIAL_COMPLETED:
                    self._study.tell(trial, list(values))
                elif state == pb.TRIAL_PRUNED:
                    self._study.tell(trial, state=TrialState.PRUNED)
                else:
                    self._study.tell(trial, state=TrialState.FAIL)
            except RuntimeError as exc:
                # A used-up grid calls `study.stop()`, which only works inside
                # `optimize`; the trial was stored before it raised. The driver
                # ends the study when every trial is made.
                if "Study.stop" not in str(exc):
                    raise

    @property
    def running(self) -> list[int]:
        return sorted(self._live)
