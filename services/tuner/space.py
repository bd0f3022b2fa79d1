"""The search space: its dimensions, how Optuna samples them, how trials get them.

A `Space` is the validated form of a study's `Param` messages (see
validation.py). It hands Optuna its distributions (`suggest` asks a live
trial in the declared order, so a seeded sampler draws exactly what Optuna
in-process would for the same `suggest_*` calls), and turns a trial's values
into what the trial's job sees: `{name}` placeholders in the command and
`SWITCHYARD_PARAM_<NAME>` variables.

Values travel as JSON text (`encode`/`decode`), the form categorical choices
are given in, so `"adam"`, `3` and `0.1` come back to the trial as given.
Optuna is imported inside the functions that need it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.trial import Trial

Value = None | bool | int | float | str
Kind = Literal["float", "int", "categorical"]
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def encode(value: Value) -> str:
    return json.dumps(value)


def decode(text: str) -> Value:
    value: Value = json.loads(text)
    return value


def as_text(value: Value) -> str:
    """How a value appears in a command or an environment variable."""
    return value if isinstance(value, str) else json.dumps(value)


def env_name(name: str) -> str:
    return f"SWITCHYARD_PARAM_{name.upper()}"


@dataclass(frozen=True)
class Dimension:
    name: str
    kind: Kind
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None  # None: continuous (floats) or 1 (ints)
    choices: tuple[Value, ...] = ()
    parent: str | None = None  # exists only when `parent` took `when`
    when: Value = None

    def distribution(self) -> BaseDistribution:
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind == "float":
            return FloatDistribution(self.low, self.high, log=self.log, step=self.step)
        if self.kind == "int":
            return IntDistribution(
                int(self.low), int(self.high), log=self.log, step=int(self.step or 1)
            )
        return CategoricalDistribution(self.choices)

    def suggest(self, trial: Trial) -> Value:
        if self.kind == "float":
            return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)
        if self.kind == "int":
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), log=self.log, step=int(self.step or 1)
            )
        return trial.suggest_categorical(self.name, self.choices)  # type: ignore[arg-type]

    def grid_values(self) -> list[Value]:
        """Every value a grid search tries (floats need a step; validation checks)."""
        if self.kind == "categorical":
            return list(self.choices)
        step = self.step or 1
        count = round((self.high - self.low) / step) + 1
        if self.kind == "int":
            return [int(self.low) + i * int(step) for i in range(count)]
        return [self.low + i * step for i in range(count)]


@dataclass(frozen=True)
class Space:
    dimensions: tuple[Dimension, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    @property
    def conditional(self) -> bool:
        return any(d.parent is not None for d in self.dimensions)

    def _active(self, dim: Dimension, values: Mapping[str, Value]) -> bool:
        return dim.parent is None or (dim.parent in values and values[dim.parent] == dim.when)

    def suggest(self, trial: Trial) -> dict[str, Value]:
        """Ask the trial for each active dimension, parents before their children."""
        values: dict[str, Value] = {}
        for dim in self.dimensions:
            if self._active(dim, values):
                values[dim.name] = dim.suggest(trial)
        return values

    def distributions(self, values: Mapping[str, Value]) -> dict[str, BaseDistribution]:
        """The distributions of the dimensions a trial with `values` has."""
        return {d.name: d.distribution() for d in self.dimensions if d.name in values}

    def grid(self) -> dict[str, Sequence[Any]]:
        return {d.name: d.grid_values() for d in self.dimensions}


def command(template: Sequence[str], space: Space, values: Mapping[str, Value]) -> list[str]:
    """The trial's argv: each `{name}` of a dimension replaced by its value ("" for
    an inactive one); other braces are left as they are."""
    names = set(space.names)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            return match.group(0)
        return as_text(values[name]) if name in values else ""

    return [_PLACEHOLDER.sub(fill, arg) for arg in template]


def env(values: Mapping[str, Value]) -> dict[str, str]:
    return {env_name(name): as_text(value) for name, value in values.items()}
