"""Keyset pagination: sort keys, the "strictly after" predicate and page tokens.

Every paged read (runs, experiments, registered models, model versions, a
metric's history) resumes after the last item it returned, never at an
OFFSET, so a page is as cheap on page 1,000 as on page 1 and rows written
meanwhile neither repeat nor vanish.

A SQL search selects its sort keys as `sort_0, sort_1, ...` and asks for
`limit + 1` rows; `cut` keeps `limit` and makes the token from the last kept
row. The next page adds the lexicographic "strictly after" predicate as an
OR-chain, spelled out per key so that mixed ASC/DESC, NULLs-last and a NaN
that sorts after every number all stay exact.

A token is url-safe base64 of compact JSON `{"f": fingerprint, "k": values}`.
The fingerprint hashes the parsed search, so a token replayed against another
filter or order is refused instead of silently skipping or repeating rows.
Every bad token is `InvalidArgument` on `page_token`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from switchyard.core.sql_params import SqlParams
from switchyard.errors import InvalidArgument

R = TypeVar("R")
NAN_SQL = "'NaN'::float8"


class PageQuery(Protocol):
    """A keyset search statement (asking for one row past the page) and its token maker."""

    @property
    def sql(self) -> str: ...

    @property
    def args(self) -> list[object]: ...

    def next_token(self, last_row: Mapping[str, Any]) -> str: ...


@dataclass(frozen=True)
class SortKey:
    expr: str  # SQL over the row being sorted (or a name, for in-memory orders)
    cast: str  # SQL type of the token value: float8, text, bigint, uuid
    ascending: bool
    nullable: bool = False  # NULL sorts last in both directions
    nan: bool = False  # float8 whose NaN sorts after numbers and before NULL


@dataclass(frozen=True)
class TokenRules:
    """What a search accepts as a token: its length bound and, for the message that
    refuses a token of another search, what such a search would have changed."""

    max_chars: int
    changed: str


class _NaN:
    """Marks a NaN sort value; float('nan') would compare unequal to itself."""


NAN = _NaN()


@dataclass(frozen=True)
class Query:
    sql: str
    args: list[object]
    keys: tuple[SortKey, ...] = field(default=(), repr=False, compare=False)
    fingerprint: str = field(default="", repr=False, compare=False)

    def next_token(self, last_row: Mapping[str, object]) -> str:
        """The page token that resumes strictly after `last_row` (a row of `sql`)."""
        values = [last_row[f"sort_{i}"] for i in range(len(self.keys))]
        return encode(self.fingerprint, self.keys, values)


def cut(rows: list[R], query: PageQuery, limit: int) -> tuple[list[R], str]:
    """The page in `rows` (fetched with `limit + 1`) and the next page's token ("" at the end)."""
    token = query.next_token(rows[limit - 1]) if len(rows) > limit else ""  # type: ignore[arg-type]
    return rows[:limit], token


# --- SQL -----------------------------------------------------------------------


def keyset_query(
    *,
    columns: str,
    source: str,
    where: Sequence[str],
    keys: Sequence[SortKey],
    fingerprint: str,
    page_token: str,
    limit: int,
    q: SqlParams,
    tokens: TokenRules,
    joins: Sequence[str] = (),
) -> Query:
    """`SELECT columns, sort keys FROM source ... LIMIT limit + 1`, after the token's row."""
    conds = list(where)
    if page_token:
        conds += _after(keys, decode(page_token, fingerprint, keys, tokens), q)
    selected = ", ".join([columns, *(f"{k.expr} AS sort_{i}" for i, k in enumerate(keys))])
    lines = [f"SELECT {selected}", f"FROM {source}", *joins]
    if conds:
        lines.append("WHERE " + "\n  AND ".join(conds))
    lines.append("ORDER BY " + ", ".join(_order_sql(k) for k in keys))
    lines.append(f"LIMIT {q.add(limit + 1, 'bigint')}")
    return Query("\n".join(lines), q.args, tuple(keys), fingerprint)


def _order_sql(k: SortKey) -> str:
    if k.nan and not k.ascending:
        # DESC alone would put NaN (Postgres' largest float) first; MLflow puts it last.
        return f"({k.expr} = {NAN_SQL}) ASC NULLS LAST, {k.expr} DESC NULLS LAST"
    # NOT NULL columns get no NULLS clause, so their order can match an index.
    return f"{k.expr} {'ASC' if k.ascending else 'DESC'}" + (" NULLS LAST" if k.nullable else "")


def _after(keys: Sequence[SortKey], values: Sequence[object], q: SqlParams) -> list[str]:
    """Conditions selecting rows strictly after the token's row in sort order."""
    disjuncts: list[str] = []
    equal: list[str] = []  # the token row's values for the keys seen so far
    params: list[str] = []
    for k, v in zip(keys, values, strict=True):
        if v is None:  # NULL sorts last: nothing comes after it within this key
            beyond, same = None, f"{k.expr} IS NULL"
        elif v is NAN:  # only NULL comes after NaN
            beyond, same = f"{k.expr} IS NULL", f"{k.expr} = {NAN_SQL}"
        else:
            p = q.add(v, k.cast)
            params.append(p)
            tests = [f"{k.expr} {'>' if k.ascending else '<'} {p}"]
            if k.nan and not k.ascending:
                tests.append(f"{k.expr} = {NAN_SQL}")
            if k.nullable:
                tests.append(f"{k.expr} IS NULL")
            beyond = tests[0] if len(tests) == 1 else f"({' OR '.join(tests)})"
            same = f"{k.expr} = {p}"
        if beyond is not None:
            disjuncts.append(" AND ".join([*equal, beyond]))
        equal.append(same)
    chain = " OR ".join(f"({d})" for d in disjuncts) if disjuncts else "FALSE"
    conds = [f"({chain})"]
    first, v0 = keys[0], values[0]
    if not first.nullable and v0 is not None and v0 is not NAN:
        # Implied by the chain, but a plain range on the leading key is something
        # an index scan can start from instead of filtering every earlier row.
        conds.insert(0, f"{first.expr} {'>=' if first.ascending else '<='} {params[0]}")
    return conds


# --- tokens --------------------------------------------------------------------


def fingerprint(*parts: object) -> str:
    """A short stable hash of the parsed search (pass parsed forms, not raw text)."""
    return base64.urlsafe_b64encode(hashlib.sha256(repr(parts).encode()).digest()[:9]).decode()


def encode(search: str, keys: Sequence[SortKey], values: Sequence[object]) -> str:
    """A token resuming after the item whose sort values are `values`."""
    raw = [_to_json(k, v) for k, v in zip(keys, values, strict=True)]
    payload = json.dumps({"f": search, "k": raw}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode(token: str, search: str, keys: Sequence[SortKey], rules: TokenRules) -> list[object]:
    """The sort values of a token issued for `search`, checked against `keys`."""
    if len(token) > rules.max_chars:
        raise bad_token("too long")
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        raise bad_token("not a token this server issued") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("f"), str):
        raise bad_token("unexpected contents")
    if payload["f"] != search:
        raise InvalidArgument(
            f"page_token belongs to a different search: the {rules.changed} changed since it was"
            " issued; start again without it",
            field="page_token",
        )
    raw = payload.get("k")
    if not isinstance(raw, list) or len(raw) != len(keys):
        raise bad_token("unexpected contents")
    return [_from_json(k, v) for k, v in zip(keys, raw, strict=True)]


def bad_token(why: str) -> InvalidArgument:
    return InvalidArgument(
        f"page_token is not valid ({why}); start again without it", field="page_token"
    )


def _to_json(k: SortKey, value: object) -> object:
    if value is None:
        return None
    if k.cast == "float8":
        number = float(value)  # type: ignore[arg-type]
        if math.isnan(number):
            return "NaN"
        return number if math.isfinite(number) else ("Infinity" if number > 0 else "-Infinity")
    if k.cast == "uuid":
        return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex
    return value


def _from_json(k: SortKey, v: object) -> object:
    if v is None:
        if not k.nullable:
            raise bad_token("missing value")
        return None
    if k.cast == "float8":
        if v == "NaN" and k.nan:
            return NAN
        if v in ("Infinity", "-Infinity"):
            return float(v)  # type: ignore[arg-type]
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    elif k.cast == "bigint":
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**63:
            return v
    elif k.cast == "uuid":
        if isinstance(v, str) and len(v) == 32:
            try:
                return uuid.UUID(hex=v).hex
            except ValueError:
                pass
    elif isinstance(v, str):
        return v
    raise bad_token("unexpected value")
