"""Search spaces for `sy.tune`, as `sy.space.*`:

    space = {
        "lr": sy.space.loguniform(1e-5, 1e-1),
        "layers": sy.space.randint(1, 4),            # 1..4, high included
        "dropout": sy.space.quniform(0.0, 0.5, 0.1),
        "optimizer": sy.space.choice({                # conditional subspaces
            "adam": {"beta1": sy.space.uniform(0.8, 0.99)},
            "sgd": {"momentum": sy.space.uniform(0.0, 0.9)},
        }),
    }

Each helper returns a `Dimension`; `params(space)` makes the proto params
the tuner validates (bad ranges come back as INVALID_ARGUMENT naming the
parameter, as `params.<name>.low`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import tuner_pb2 as pb


@dataclass(frozen=True)
class Dimension:
    kind: str  # "float", "int", "choice"
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float = 0.0
    choices: tuple[Any, ...] = ()
    # choice -> the parameters that exist only under it
    subspaces: Mapping[Any, Mapping[str, Dimension]] = field(default_factory=dict)


def uniform(low: float, high: float) -> Dimension:
    return Dimension("float", float(low), float(high))


def loguniform(low: float, high: float) -> Dimension:
    return Dimension("float", float(low), float(high), log=True)


def quniform(low: float, high: float, step: float) -> Dimension:
    return Dimension("float", float(low), float(high), step=float(step))


def randint(low: int, high: int) -> Dimension:
    """An integer in [low, high], both included."""
    return Dimension("int", int(low), int(high))


def lograndint(low: int, high: int) -> Dimension:
    return Dimension("int", int(low), int(high), log=True)


def choice(options: Sequence[Any] | Mapping[Any, Mapping[str, Dimension]]) -> Dimension:
    """One of `options`; a mapping makes each option's own parameters conditional on it."""
    if isinstance(options, Mapping):
        return Dimension("choice", choices=tuple(options), subspaces=dict(options))
    return Dimension("choice", choices=tuple(options))


def params(space: Mapping[str, Dimension]) -> list[pb.Param]:
    """The proto params of a space, parents before the parameters that depend on them."""
    if not isinstance(space, Mapping) or not space:
        raise InvalidArgument("the space must be a non-empty dict of sy.space.*", field="space")
    found: list[pb.Param] = []
    _add(space, found, parent="", when="")
    return found


def _add(space: Mapping[str, Dimension], found: list[pb.Param], parent: str, when: str) -> None:
    for name, dim in space.items():
        if not isinstance(dim, Dimension):
            raise InvalidArgument(
                f"space['{name}'] is not a sy.space dimension: {dim!r}", field=f"space.{name}"
            )
        param = pb.Param(name=name, parent=parent, when=when)
        if dim.kind == "float":
            param.float.CopyFrom(
                pb.FloatRange(low=dim.low, high=dim.high, log=dim.log, step=dim.step)
            )
        elif dim.kind == "int":
            param.int.CopyFrom(
                pb.IntRange(low=int(dim.low), high=int(dim.high), log=dim.log, step=int(dim.step))
            )
        else:
            param.categorical.CopyFrom(pb.Categorical(choices=[json.dumps(c) for c in dim.choices]))
        found.append(param)
        for option, subspace in dim.subspaces.items():
            _add(subspace, found, parent=name, when=json.dumps(option))


def kinds(space: Mapping[str, Dimension]) -> dict[str, Dimension]:
    """Every dimension by name, nested ones included (a trial's runner reads its params)."""
    found: dict[str, Dimension] = {}
    for name, dim in space.items():
        found[name] = dim
        for subspace in dim.subspaces.values():
            found.update(kinds(subspace))
    return found


__all__ = ["Dimension", "choice", "lograndint", "loguniform", "quniform", "randint", "uniform"]
