"""Bad arguments become the error tree's `InvalidArgument`, never a bare TypeError.

Protobuf constructors and conversions (`float("x")`, a str where an int
goes) raise TypeError, ValueError or OverflowError; `@checked` on the
functions that build requests turns those into `InvalidArgument` in one
place, and `number` does it on the hot paths that convert a metric value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from switchyard.errors import InvalidArgument, SwitchyardError

P = ParamSpec("P")
R = TypeVar("R")


def checked(build: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(build)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return build(*args, **kwargs)
        except SwitchyardError:  # InvalidArgument is a ValueError too: keep its field
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidArgument(f"{build.__name__}: bad argument ({exc})") from exc

    return wrapper


def number(value: Any, field: str = "value") -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{field} must be a number, got {value!r}", field=field) from None


def pairs(items: Any, field: str) -> list[tuple[str, str]]:
    """A dict, or MLflow's Param/RunTag objects (`.key`, `.value`), as (key, value) strings."""
    if items is None:
        return []
    if hasattr(items, "items"):
        return [(str(k), str(v)) for k, v in items.items()]
    try:
        return [(str(i.key), str(i.value)) for i in items]
    except (AttributeError, TypeError):
        raise InvalidArgument(
            f"{field} must be a dict or objects with .key and .value", field=field
        ) from None
