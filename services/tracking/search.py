"""Compile run and experiment searches to one PostgreSQL statement each.

Filters and order_by come from `filters.py`. Every user value and key becomes a
`$n` parameter; the SQL text only ever holds fixed fragments from this module.

Ordering follows MLflow: the requested keys, then `start_time DESC, run_id ASC`
for runs (`creation_time DESC, experiment_id ASC` by default for experiments,
always ending with `experiment_id ASC`). A run lacking a metric/param/tag sorts
last in either direction, and a NaN metric sorts after every number but before
a missing one, as MLflow's SQL store does.

Pagination is keyset (`core/paging.py`): the statement selects each effective
sort key as `sort_0, sort_1, ...`, `Query.next_token(last_row)` packs those
values into the token and the next page's statement resumes strictly after them.
"""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.core import paging, validation
from switchyard.core.filters import (
    Comparison,
    OrderKey,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_run_filter,
    parse_run_order_by,
)
from switchyard.core.paging import Query, SortKey
from switchyard.core.sql_params import SqlParams, compare
from switchyard.errors import InvalidArgument

MAX_LIMIT = 50_000  # MLflow's SEARCH_MAX_RESULTS_THRESHOLD
# Tokens carry sort values, which can be long param/tag values; this bounds what
# we are willing to decode, well above 20 keys of MLflow's longest values.
MAX_TOKEN_CHARS = 512 * 1024
_TOKENS = paging.TokenRules(MAX_TOKEN_CHARS, "filter, order_by, experiment ids or view")
DATASET_CONTEXT_TAG = "mlflow.data.context"

_VIEWS = {
    "active": "{t}.lifecycle_stage = 'active'",
    "deleted": "{t}.lifecycle_stage = 'deleted'",
    "all": None,
}
# What a search returns per run: the whole `runs` row (the walk has it in hand),
# so the caller need not fetch the page's runs again.
RUN_ROW = (
    "run_id",
    "experiment_id",
    "name",
    "user_id",
    "status",
    "start_time",
    "end_time",
    "lifecycle_stage",
    "artifact_uri",
    "parent_run_id",
)
_KV_TABLES = {"metric": "latest_metrics", "param": "params", "tag": "tags"}
# Run attribute -> (column, parameter type, nullable).
_RUN_COLUMNS = {
    "run_id": ("r.run_id", "uuid", False),
    "run_name": ("r.name", "text", False),
    "status": ("r.status", "text", False),
    "user_id": ("r.user_id", "text", False),
    "artifact_uri": ("r.artifact_uri", "text", False),
    "start_time": ("r.start_time", "bigint", False),
    "end_time": ("r.end_time", "bigint", True),
}
_EXPERIMENT_COLUMNS = {
    "name": ("e.name", "text", False),
    "experiment_id": ("e.experiment_id", "bigint", False),
    "creation_time": ("e.creation_time", "bigint", False),
    "last_update_time": ("e.last_update_time", "bigint", False),
}
_RUN_TIEBREAK = (OrderKey("attribute", "start_time", False), OrderKey("attribute", "run_id", True))
_EXPERIMENT_DEFAULT = (OrderKey("attribute", "creation_time", False),)
_EXPERIMENT_TIEBREAK = (OrderKey("attribute", "experiment_id", True),)


# --- public builders ---------------------------------------------------------


def build_run_search(
    *,
    experiment_ids: Sequence[int],
    filter: str,
    view: str,
    order_by: Sequence[str],
    page_token: str,
    limit: int,
) -> Query:
    comparisons = parse_run_filter(filter)
    order = parse_run_order_by(order_by)
    ids = _experiment_ids(experiment_ids)
    validation.limit(limit, MAX_LIMIT)
    q = SqlParams()
    if len(set(ids)) == 1:
        # Postgres 16 will not walk runs_by_start in order under `= ANY(array)`,
        # even for one element; a plain equality lets LIMIT stop early.
        where = [f"r.experiment_id = {q.add(ids[0], 'bigint')}"]
    else:
        where = [f"r.experiment_id = ANY({q.add(ids, 'bigint[]')})"]
    where += _view("r", view)
    where += [_run_condition(c, q) for c in comparisons]

    joins: list[str] = []
    keys: list[SortKey] = []
    for o in _effective(order, _RUN_TIEBREAK, "run_id"):
        if o.kind in _KV_TABLES:
            alias = f"o{len(joins)}"
            joins.append(
                f"LEFT JOIN {_KV_TABLES[o.kind]} {alias} ON {alias}.run_id = r.run_id"
                f" AND {alias}.key = {q.add(o.key, 'text')}"
            )
            metric = o.kind == "metric"
            cast = "float8" if metric else "text"
            keys.append(SortKey(f"{alias}.value", cast, o.ascending, True, nan=metric))
        else:
            expr, cast, nullable = _RUN_COLUMNS[o.key]
            keys.append(SortKey(expr, cast, o.ascending, nullable))

    return paging.keyset_query(
        columns=", ".join(f"r.{column}" for column in RUN_ROW),
        source="runs r",
        joins=joins,
        where=where,
        keys=keys,
        fingerprint=_fingerprint("runs", comparisons, order, sorted(set(ids)), view),
        page_token=page_token,
        limit=limit,
        q=q,
        tokens=_TOKENS,
    )


def build_experiment_search(
    *, filter: str, view: str, order_by: Sequence[str], page_token: str, limit: int
) -> Query:
    comparisons = parse_experiment_filter(filter)
    order = parse_experiment_order_by(order_by)
    validation.limit(limit, MAX_LIMIT)
    q = SqlParams()
    where = _view("e", view) + [_experiment_condition(c, q) for c in comparisons]
    keys = []
    for o in _effective(order or list(_EXPERIMENT_DEFAULT), _EXPERIMENT_TIEBREAK, "experiment_id"):
        expr, cast, nullable = _EXPERIMENT_COLUMNS[o.key]
        keys.append(SortKey(expr, cast, o.ascending, nullable))
    return paging.keyset_query(
        columns="e.experiment_id",
        source="experiments e",
        where=where,
        keys=keys,
        fingerprint=_fingerprint("experiments", comparisons, order, [], view),
        page_token=page_token,
        limit=limit,
        q=q,
        tokens=_TOKENS,
    )


# --- conditions --------------------------------------------------------------


# Must match the partial (key, value) indexes of migration 001.
INDEXED_VALUE_LENGTH = 1024


def _kv_compare(c: Comparison, q: SqlParams) -> str:
    """Compare a param/tag value; `LIKE 'abc%'` becomes a range in code point order.

    Same rows, but Postgres estimates a range from the (key, value) statistics,
    where LIKE's estimate ignores the key and can be off 5x on skewed tags,
    enough to flip a LIMIT query from walking runs_by_start to hashing every
    match (measured: 20-30 ms vs 130 ms on page 20 of a 100k-run search).
    """
    if c.op == "LIKE" and isinstance(c.value, str) and (bounds := _prefix_range(c.value)):
        low, high = (q.add(b, "text") for b in bounds)
        return f'x.value COLLATE "C" >= {low} AND x.value COLLATE "C" < {high}'
    test = compare("x.value", c.op, c.value, "text", q)
    if c.op in ("=", "IN") and all(len(v) <= INDEXED_VALUE_LENGTH for v in _values(c.value)):
        # Implied by the comparison; lets the planner use the partial (key, value) index.
        test += f" AND length(x.value) <= {INDEXED_VALUE_LENGTH}"
    return test


def _values(value: object) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (str(value),)


def _prefix_range(pattern: str) -> tuple[str, str] | None:
    """[low, high) holding exactly what `pattern` matches, for a literal prefix + '%'."""
    prefix = pattern[:-1]
    if not pattern.endswith("%") or not prefix or any(ch in prefix for ch in "%_\\"):
        return None
    after = ord(prefix[-1]) + 1
    if after > 0x10FFFF or 0xD800 <= after <= 0xDFFF:  # no next code point to bound with
        return None
    return prefix, prefix[:-1] + chr(after)


def _run_condition(c: Comparison, q: SqlParams) -> str:
    if c.kind in _KV_TABLES:
        # One (run, key) row at most: EXISTS probes the (run_id, key) primary key.
        exists = (
            f"SELECT 1 FROM {_KV_TABLES[c.kind]} x"
            f" WHERE x.run_id = r.run_id AND x.key = {q.add(c.key, 'text')}"
        )
        if c.op == "IS NULL":
            return f"NOT EXISTS ({exists})"
        if c.op == "IS NOT NULL":
            return f"EXISTS ({exists})"
        metric = c.kind == "metric"
        test = _kv_compare(c, q) if not metric else compare("x.value", c.op, c.value, "float8", q)
        if metric and c.op in (">", ">="):
            # Postgres orders NaN above every number; MLflow never matches NaN here.
            test += f" AND x.value < {paging.NAN_SQL}"
        return f"EXISTS ({exists} AND {test})"
    if c.kind == "dataset":
        column = {"name": "d.name", "digest": "d.digest"}.get(c.key)
        if column is None:  # context lives in the run input's tags
            column = f"(ri.tags ->> {q.add(DATASET_CONTEXT_TAG, 'text')})"
        test = compare(column, c.op, c.value, "text", q)
        return (
            "EXISTS (SELECT 1 FROM run_inputs ri JOIN datasets d ON d.dataset_id = ri.dataset_id"
            f" WHERE ri.run_id = r.run_id AND {test})"
        )
    column, cast, _ = _RUN_COLUMNS[c.key]
    return compare(column, c.op, c.value, cast, q)


def _experiment_condition(c: Comparison, q: SqlParams) -> str:
    if c.kind == "tag":
        exists = (
            "SELECT 1 FROM experiment_tags x WHERE x.experiment_id = e.experiment_id"
            f" AND x.key = {q.add(c.key, 'text')}"
        )
        if c.op == "IS NULL":
            return f"NOT EXISTS ({exists})"
        if c.op == "IS NOT NULL":
            return f"EXISTS ({exists})"
        return f"EXISTS ({exists} AND {_kv_compare(c, q)})"
    column, cast, _ = _EXPERIMENT_COLUMNS[c.key]
    return compare(column, c.op, c.value, cast, q)


def _view(table: str, view: str) -> list[str]:
    if view not in _VIEWS:
        raise InvalidArgument(f"view {view!r} is not one of {', '.join(_VIEWS)}", field="view")
    clause = _VIEWS[view]
    return [] if clause is None else [clause.format(t=table)]


def _experiment_ids(experiment_ids: Sequence[int]) -> list[int]:
    try:
        return [int(i) for i in experiment_ids]
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"experiment ids must be integers, got {list(experiment_ids)!r}",
            field="experiment_ids",
        ) from None


def _effective(
    order: Sequence[OrderKey], tiebreak: Sequence[OrderKey], unique: str
) -> list[OrderKey]:
    """Requested keys plus tie-breakers, minus repeats; nothing after the unique id."""
    out: list[OrderKey] = []
    seen: set[tuple[str, str]] = set()
    for o in [*order, *tiebreak]:
        if (o.kind, o.key) in seen:
            continue
        seen.add((o.kind, o.key))
        out.append(o)
        if o.kind == "attribute" and o.key == unique:
            break
    return out


# --- page tokens -------------------------------------------------------------


def _fingerprint(
    scope: str, comparisons: list[Comparison], order: list[OrderKey], ids: list[int], view: str
) -> str:
    # Parsed forms, so whitespace or quoting changes do not invalidate a token.
    return paging.fingerprint(scope, comparisons, order, ids, view)
