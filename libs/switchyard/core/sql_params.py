"""SQL from parsed searches (`core/filters.py`): numbered, typed parameters.

Every user value and key becomes a `$n` parameter; the SQL text a search
module writes holds only its own fixed fragments.
"""

from __future__ import annotations

from collections.abc import Sequence


class SqlParams:
    """The arguments of one statement, numbered as they are added."""

    def __init__(self) -> None:
        self.args: list[object] = []

    def add(self, value: object, cast: str) -> str:
        # Explicit casts pin each parameter's type for the driver and the planner.
        self.args.append(value)
        return f"${len(self.args)}::{cast}"


def compare(column: str, op: str, value: object, cast: str, params: SqlParams) -> str:
    """`column <op> value` for a parsed comparison; IN / NOT IN take the tuple as an array."""
    if op == "IN":
        return f"{column} = ANY({params.add(list(_values(value)), cast + '[]')})"
    if op == "NOT IN":
        return f"{column} <> ALL({params.add(list(_values(value)), cast + '[]')})"
    return f"{column} {'<>' if op == '!=' else op} {params.add(value, cast)}"


def _values(value: object) -> Sequence[object]:
    assert isinstance(value, tuple), value  # the parser gives IN lists as tuples
    return value
