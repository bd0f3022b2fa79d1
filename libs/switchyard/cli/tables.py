"""Tables that fit the terminal without cutting anything.

Rich narrows columns to fit the width and ends a cut cell with "…", which
made run ids and states ("SUC…") unreadable and ids impossible to copy.
Folded cells wrap onto the next line instead, so every character stays.
"""

from __future__ import annotations

from rich.table import Table


def fold(table: Table) -> Table:
    for column in table.columns:
        column.overflow = "fold"
    return table
