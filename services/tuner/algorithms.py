"""A study's algorithm and early-stopping rule as Optuna's sampler and pruner.

Optuna is a library here (Katib does the same): these functions build its
objects from a validated spec, importing it only when a study is driven.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.services.tuner.space import Space

if TYPE_CHECKING:
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler


def sampler(spec: pb.StudySpec, space: Space, rebuilt_from: int = 0) -> BaseSampler:
    import optuna
    from optuna import samplers

    # A sampler rebuilt from stored trials must not replay the sequence its
    # seed began with (it would suggest the first trials' parameters again):
    # it continues from a seed moved on by the trials already made.
    seed = spec.seed + rebuilt_from if spec.has_seed else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        match spec.algorithm:
            case "random":
                return samplers.RandomSampler(seed=seed)
            case "grid":
                return samplers.GridSampler(dict(space.grid()), seed=seed)
            case "cmaes":
                return samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
            case "qmc":
                return samplers.QMCSampler(
                    seed=seed, warn_independent_sampling=False, warn_asynchronous_seeding=False
                )
            case "nsga2":
                return samplers.NSGAIISampler(seed=seed)
            case _:
                return samplers.TPESampler(seed=seed)


def pruner(spec: pb.StudySpec) -> BasePruner:
    from optuna import pruners

    e = spec.early_stopping
    match e.rule:
        case "median":
            return pruners.MedianPruner(
                n_startup_trials=e.startup_trials or 5, n_warmup_steps=e.warmup_steps
            )
        case "asha":
            return pruners.SuccessiveHalvingPruner(
                min_resource=e.min_resource or "auto", reduction_factor=e.reduction_factor or 4
            )
        case "hyperband":
            return pruners.HyperbandPruner(
                min_resource=e.min_resource or 1,
                max_resource=e.max_resource or "auto",
                reduction_factor=e.reduction_factor or 3,
            )
        case _:
            return pruners.NopPruner()


def directions(spec: pb.StudySpec) -> list[str]:
    return ["maximize" if o.maximize else "minimize" for o in spec.objectives]
