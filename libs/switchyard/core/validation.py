"""Input checks every service shares, run before any write.

Each failure is an `InvalidArgument` naming the field, so a bad request
changes nothing and the caller learns exactly what to fix. The services'
own `validation.py` modules keep their entity rules (MLflow's limits, model
names and aliases, job specs) and build them from these.

Text that PostgreSQL cannot store is refused here rather than failing
deep in a transaction as an internal error: NUL characters, which `text`
columns reject, and lone surrogates, which have no UTF-8 encoding.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable

from switchyard.core.ids import parse_hex_id
from switchyard.errors import InvalidArgument, NotFound

MAX_KEY = 250
# MLflow's rule for metric, param and tag keys: letters, digits, underscores,
# dashes, periods, spaces, slashes and colons, as a relative path.
_KEY = re.compile(r"^[/\w.\- :]+$")
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(value: str, field: str) -> str:
    """`value`, unless it holds a character PostgreSQL text cannot store."""
    # `in` is a memchr and `isascii` a flag check: the common case costs ~nothing.
    if "\x00" in value:
        at = value.index("\x00")
        raise InvalidArgument(f"{field} contains a NUL character (at {at})", field=field)
    if not value.isascii() and (lone := _SURROGATE.search(value)):
        raise InvalidArgument(f"{field} contains a lone surrogate (at {lone.start()})", field=field)
    return value


def text(value: str, field: str, limit: int) -> str:
    if len(value) > limit:
        raise InvalidArgument(f"{field} exceeds {limit} characters (got {len(value)})", field=field)
    if "\x00" in value or not value.isascii():  # storable(), without a call for plain ASCII
        storable(value, field)
    return value


def name(value: str, field: str, limit: int) -> str:
    """Not empty or blank, at most `limit` characters, storable."""
    if not value.strip():
        raise InvalidArgument(f"{field} must not be empty", field=field)
    return text(value, field, limit)


def key(value: str, field: str) -> str:
    """A metric, param or tag key (MLflow's rule; it also excludes NUL and surrogates)."""
    if not value:
        raise InvalidArgument(f"{field} must not be empty", field=field)
    if len(value) > MAX_KEY:
        raise InvalidArgument(
            f"{field} '{value[:40]}...' exceeds {MAX_KEY} characters", field=field
        )
    if not _KEY.fullmatch(value) or ".." in value.split("/") or value.startswith("/"):
        raise InvalidArgument(
            f"{field} {value!r} may only contain letters, digits, '_', '-', '.', ' ', ':' and '/'"
            " and must be a relative path",
            field=field,
        )
    return value


def tags(pairs: Iterable[tuple[str, str]], field: str, value_limit: int) -> dict[str, str]:
    """Checked `{key: value}`; a repeated key keeps its last value."""
    out: dict[str, str] = {}
    for k, v in pairs:
        key(k, f"{field}.key")
        out[k] = text(v, f"{field}[{k}].value", value_limit)
    return out


def hex_id(value: str, field: str, what: str) -> uuid.UUID:
    """A 32-hex id (job, pipeline, ...): `what` names it in the message."""
    parsed = parse_hex_id(value)
    if parsed is None:
        raise InvalidArgument(f"{field} '{value}' is not a {what} (32 hex characters)", field=field)
    return parsed


def run_id(value: str, field: str = "run_id") -> uuid.UUID:
    """A run id as MLflow writes them; a malformed one is answered as a lookup would be."""
    if not value:
        raise InvalidArgument(f"{field} must be set", field=field)
    parsed = parse_hex_id(value)
    if parsed is None:  # no run can have this id
        raise NotFound(
            f"run '{value}' not found ({field} must be 32 hex characters)",
            entity="run",
            field=field,
        )
    return parsed


def limit(value: int, maximum: int, field: str = "max_results") -> int:
    if not 1 <= value <= maximum:
        raise InvalidArgument(f"{field} must be between 1 and {maximum} (got {value})", field=field)
    return value


def max_results(value: int, maximum: int, default: int, field: str = "max_results") -> int:
    """A page size from a request: 0 (unset) means `default`."""
    return limit(value, maximum, field) if value else default


def non_negative(value: float, field: str) -> float:
    if value < 0 or math.isnan(value) or math.isinf(value):
        raise InvalidArgument(f"{field} must be a finite number >= 0 (got {value})", field=field)
    return value
