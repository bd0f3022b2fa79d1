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
Every user value becomes a `$n` parameter. Pagination is keyset
(`core/paging.py`); all sort columns are NOT NULL, which keeps its chain short.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence

from switchyard.core import paging
from switchyard.core.filters import Comparison, OrderKey, Scope, parse_filter, parse_order_by
from switchyard.core.paging import Query, SortKey
from switchyard.core.sql_params import SqlParams, compare

MAX_TOKEN_CHARS = 64 * 1024
_TOKENS = paging.TokenRules(MAX_TOKEN_CHARS, "filter or order_by")
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


def build_model_search(filter: str, order_by: Sequence[str], page_token: str, limit: int) -> Query:
    comparisons = parse_filter(filter, _MODEL_FILTER)
    order = parse_order_by(order_by, _MODEL_ORDER)
    q = SqlParams()
    where = _model_tag_conditions([c for c in comparisons if c.kind == "tag"], q)
    where += [_attribute(c, q, _MODEL_COLUMNS) for c in comparisons if c.kind != "tag"]
    keys = _keys(order or list(_MODEL_DEFAULT), _MODEL_TIEBREAK, _MODEL_COLUMNS)
    return paging.keyset_query(
        columns="m.model_id",
        source="registered_models m",
        where=where,
        keys=keys,
        fingerprint=paging.fingerprint("models", comparisons, order),
        page_token=page_token,
        limit=limit,
        q=q,
        tokens=_TOKENS,
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
    return paging.keyset_query(
        columns="v.model_id, v.version",
        source="model_versions v JOIN registered_models m ON m.model_id = v.model_id",
        where=where,
        keys=keys,
        fingerprint=paging.fingerprint("versions", comparisons, order),
        page_token=page_token,
        limit=limit,
        q=q,
        tokens=_TOKENS,
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


# --- ordering -----------------------------------------------------------------


def _keys(
    order: Sequence[OrderKey], tiebreak: Sequence[OrderKey], columns: Mapping[str, tuple[str, str]]
) -> list[SortKey]:
    """Requested keys, then the unique tie-breakers; each column once."""
    keys: list[SortKey] = []
    seen: set[str] = set()
    for o in [*order, *tiebreak]:
        expr, cast = columns[o.key]
        if expr not in seen:
            seen.add(expr)
            keys.append(SortKey(expr, cast, o.ascending))
    return keys
