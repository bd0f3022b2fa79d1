"""Compile registered-model and model-version searches to one SQL statement each.

The grammar is MLflow's, parsed by the tracking service's filter parser
(`filters.py`, its scope-taking entry points) with the registry's own keys:

    registered models  name, tags.<key>; order by name, creation_timestamp,
                       last_updated_timestamp
    model versions     name, run_id, source_path, version_number, tags.<key>;
                       order by name, version_number, creation_timestamp,
                       last_updated_timestamp

Model tags are matched in the models' `tags` jsonb mirror (GIN-indexed, see
migration 002); version tags with EXISTS probes into `version_tags`.
Every user value becomes a `$n` parameter. Pagination is keyset: the
statement selects its sort keys as `sort_0, sort_1, ...`, the token packs the
last row's values, and the next page adds "strictly after" as an OR-chain.
All sort columns are NOT NULL, which keeps the chain short.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from switchyard.core import page_tokens
from switchyard.core.filters import Comparison, OrderKey, Scope, parse_filter, parse_order_by
from switchyard.core.sql_params import SqlParams, compare

MAX_TOKEN_CHARS = 64 * 1024
INDEXED_VALUE_LENGTH = 1024  # the partial (key, value) indexes of migration 001

_MODEL_COLUMNS = {
    "name": ("m.name", "text"),
    "creation_timestamp": ("m.creation_time", "bigint"),
    "timestamp": ("m.creation_time", "bigint"),  # MLflow's short name
    "last_updated_timestamp": ("m.last_update_time", "bigint"),
    "model_id": ("m.model_id", "bigint"),
}
_VERSION_COLUMNS = {
    "name": ("m.name", "text"),
    "version_number": ("v.version", "bigint"),
    "run_id": ("v.run_id", "uuid"),
    "source_path": ("v.source", "text"),
    "creation_timestamp": ("v.creation_time", "bigint"),
    "timestamp": ("v.creation_time", "bigint"),
    "last_updated_timestamp": ("v.last_update_time", "bigint"),
    "model_id": ("v.model_id", "bigint"),
}
_TYPES = {"text": "string", "bigint": "int", "uuid": "run_id"}
_ORDERABLE = ("name", "version_number", "creation_timestamp", "timestamp", "last_updated_timestamp")


def _scope(columns: Mapping[str, tuple[str, str]], keys: Sequence[str], tags: bool) -> Scope:
    attributes = {k: _TYPES[columns[k][1]] for k in keys}
    if tags:
        return Scope(("attribute", "tag"), "attributes, tags", attributes)
    return Scope(("attribute",), "attributes", attributes)


_MODEL_FILTER = _scope(_MODEL_COLUMNS, ("name",), tags=True)
_MODEL_ORDER = _scope(_MODEL_COLUMNS, [k for k in _ORDERABLE if k in _MODEL_COLUMNS], tags=False)
_VERSION_FILTER = _scope(
    _VERSION_COLUMNS, ("name", "run_id", "source_path", "version_number"), tags=True
)
_VERSION_ORDER = _scope(_VERSION_COLUMNS, _ORDERABLE, tags=False)

_MODEL_DEFAULT = (OrderKey("attribute", "name", True),)
_MODEL_TIEBREAK = (OrderKey("attribute", "model_id", True),)
_VERSION_DEFAULT = (
    OrderKey("attribute", "name", True),
    OrderKey("attribute", "version_number", False),
)
_VERSION_TIEBREAK = (
    OrderKey("attribute", "model_id", True),
    OrderKey("attribute", "version_number", True),
)


@dataclass(frozen=True)
class _SortKey:
    expr: str
    cast: str
    ascending: bool


@dataclass(frozen=True)
class Query:
    sql: str
    args: list[object]
    _keys: tuple[_SortKey, ...] = field(default=(), repr=False, compare=False)
    _fingerprint: str = field(default="", repr=False, compare=False)

    def next_token(self, last_row: Mapping[str, object]) -> str:
        """The page token that resumes strictly after `last_row` (a row of `sql`)."""
        values = [last_row[f"sort_{i}"] for i in range(len(self._keys))]
        return page_tokens.encode(self._fingerprint, values)


def build_model_search(filter: str, order_by: Sequence[str], page_token: str, limit: int) -> Query:
    comparisons = parse_filter(filter, _MODEL_FILTER)
    order = parse_order_by(order_by, _MODEL_ORDER)
    q = SqlParams()
    where = _model_tag_conditions([c for c in comparisons if c.kind == "tag"], q)
    where += [_attribute(c, q, _MODEL_COLUMNS) for c in comparisons if c.kind != "tag"]
    keys = _keys(order or list(_MODEL_DEFAULT), _MODEL_TIEBREAK, _MODEL_COLUMNS)
    fingerprint = _fingerprint("models", comparisons, order)
    return _assemble(
        "m.model_id", "registered_models m", where, keys, fingerprint, page_token, limit, q
    )


def build_version_search(
    filter: str, order_by: Sequence[str], page_token: str, limit: int
) -> Query:
    comparisons = parse_filter(filter, _VERSION_FILTER)
    order = parse_order_by(order_by, _VERSION_ORDER)
    q = SqlParams()
    where = [
        _version_tag(c, q) if c.kind == "tag" else _attribute(c, q, _VERSION_COLUMNS)
        for c in comparisons
    ]
    keys = _keys(order or list(_VERSION_DEFAULT), _VERSION_TIEBREAK, _VERSION_COLUMNS)
    fingerprint = _fingerprint("versions", comparisons, order)
    return _assemble(
        "v.model_id, v.version",
        "model_versions v JOIN registered_models m ON m.model_id = v.model_id",
        where,
        keys,
        fingerprint,
        page_token,
        limit,
        q,
    )


# --- conditions --------------------------------------------------------------


def _model_tag_conditions(comparisons: Sequence[Comparison], q: SqlParams) -> list[str]:
    """Model tags are read from the `tags` jsonb mirror (migration 002).

    Equalities on distinct keys merge into one containment test, which the GIN
    index answers in one scan; the other operators read the value in-row. A
    missing tag yields NULL, so only models that have it can match, as in MLflow.
    """
    wanted: dict[str, str] = {}
    out = []
    for c in comparisons:
        if c.op == "=" and c.key not in wanted:
            wanted[c.key] = str(c.value)
        elif c.op == "IS NULL":
            out.append(f"NOT (m.tags ? {q.add(c.key, 'text')})")
        elif c.op == "IS NOT NULL":
            out.append(f"m.tags ? {q.add(c.key, 'text')}")
        else:
            out.append(compare(f"(m.tags ->> {q.add(c.key, 'text')})", c.op, c.value, "text", q))
    if wanted:
        out.insert(0, f"m.tags @> {q.add(json.dumps(wanted), 'jsonb')}")
    return out


def _version_tag(c: Comparison, q: SqlParams) -> str:
    exists = (
        "SELECT 1 FROM version_tags x WHERE x.model_id = v.model_id AND x.version = v.version"
        f" AND x.key = {q.add(c.key, 'text')}"
    )
    if c.op == "IS NULL":
        return f"NOT EXISTS ({exists})"
    if c.op == "IS NOT NULL":
        return f"EXISTS ({exists})"
    test = compare("x.value", c.op, c.value, "text", q)
    values = c.value if isinstance(c.value, tuple) else (str(c.value),)
    if c.op in ("=", "IN") and all(len(v) <= INDEXED_VALUE_LENGTH for v in values):
        # Implied by the comparison; lets the planner use the partial index.
        test += f" AND length(x.value) <= {INDEXED_VALUE_LENGTH}"
    return f"EXISTS ({exists} AND {test})"


def _attribute(c: Comparison, q: SqlParams, columns: Mapping[str, tuple[str, str]]) -> str:
    column, cast = columns[c.key]
    value = c.value
    if cast == "uuid":  # the parser hands run ids over as 32 lowercase hex
        value = (
            tuple(uuid.UUID(hex=v) for v in value)
            if isinstance(value, tuple)
            else uuid.UUID(hex=str(value))
        )
    return compare(column, c.op, value, cast, q)


# --- ordering and keyset -----------------------------------------------------


def _keys(
    order: Sequence[OrderKey], tiebreak: Sequence[OrderKey], columns: Mapping[str, tuple[str, str]]
) -> list[_SortKey]:
    """Requested keys, then the unique tie-breakers; each column once."""
    keys: list[_SortKey] = []
    seen: set[str] = set()
    for o in [*order, *tiebreak]:
        expr, cast = columns[o.key]
        if expr not in seen:
            seen.add(expr)
            keys.append(_SortKey(expr, cast, o.ascending))
    return keys


def _after(keys: Sequence[_SortKey], values: Sequence[object], q: SqlParams) -> list[str]:
    params = [q.add(v, k.cast) for k, v in zip(keys, values, strict=True)]
    disjuncts = []
    for i, k in enumerate(keys):
        equal = [f"{keys[j].expr} = {params[j]}" for j in range(i)]
        beyond = f"{k.expr} {'>' if k.ascending else '<'} {params[i]}"
        disjuncts.append(" AND ".join([*equal, beyond]))
    first = keys[0]
    # Implied by the chain; a range on the leading key is where an index scan starts.
    lead = f"{first.expr} {'>=' if first.ascending else '<='} {params[0]}"
    return [lead, "(" + " OR ".join(f"({d})" for d in disjuncts) + ")"]


def _assemble(
    id_columns: str,
    source: str,
    where: list[str],
    keys: list[_SortKey],
    fingerprint: str,
    page_token: str,
    limit: int,
    q: SqlParams,
) -> Query:
    if page_token:
        where = [*where, *_after(keys, _decode(page_token, keys, fingerprint), q)]
    columns = ", ".join([id_columns, *(f"{k.expr} AS sort_{i}" for i, k in enumerate(keys))])
    lines = [f"SELECT {columns}", f"FROM {source}"]
    if where:
        lines.append("WHERE " + "\n  AND ".join(where))
    lines.append(
        "ORDER BY " + ", ".join(f"{k.expr} {'ASC' if k.ascending else 'DESC'}" for k in keys)
    )
    lines.append(f"LIMIT {q.add(limit + 1, 'bigint')}")
    return Query("\n".join(lines), q.args, tuple(keys), fingerprint)


# --- page tokens -------------------------------------------------------------


def _fingerprint(scope: str, comparisons: list[Comparison], order: list[OrderKey]) -> str:
    return page_tokens.fingerprint(scope, comparisons, order)


def _decode(token: str, keys: Sequence[_SortKey], fingerprint: str) -> list[object]:
    raw = page_tokens.decode(
        token, fingerprint, len(keys), max_chars=MAX_TOKEN_CHARS, changed="filter or order_by"
    )
    for k, v in zip(keys, raw, strict=True):
        wanted = str if k.cast == "text" else int
        if not isinstance(v, wanted) or isinstance(v, bool):
            raise page_tokens.bad_token("unexpected value")
    return raw
