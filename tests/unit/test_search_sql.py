"""SQL built for run and experiment search, and its page tokens (no database here)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest

from switchyard.errors import InvalidArgument
from switchyard.services.tracking.search import (
    MAX_LIMIT,
    Query,
    build_experiment_search,
    build_run_search,
)

RUN_A = "0123456789abcdef0123456789abcdef"
RUN_B = "fedcba9876543210fedcba9876543210"


def runs(**kw: Any) -> Query:
    args: dict[str, Any] = dict(
        experiment_ids=[1], filter="", view="active", order_by=[], page_token="", limit=100
    )
    args.update(kw)
    return build_run_search(**args)


def experiments(**kw: Any) -> Query:
    args: dict[str, Any] = dict(filter="", view="active", order_by=[], page_token="", limit=100)
    args.update(kw)
    return build_experiment_search(**args)


def param(q: Query, placeholder: str) -> object:
    """The argument bound to `$n` (casts ignored)."""
    return q.args[int(placeholder.lstrip("$").split("::")[0]) - 1]


def placeholders(sql: str) -> set[int]:
    return {int(n) for n in re.findall(r"\$(\d+)", sql)}


def token_payload(token: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def make_token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


# --- statement shape -----------------------------------------------------------


def test_default_run_search() -> None:
    q = runs()
    assert q.sql == (
        "SELECT r.run_id, r.experiment_id, r.name, r.user_id, r.status, r.start_time,"
        " r.end_time, r.lifecycle_stage, r.artifact_uri, r.parent_run_id,"
        " r.start_time AS sort_0, r.run_id AS sort_1\n"
        "FROM runs r\n"
        "WHERE r.experiment_id = $1::bigint\n"
        "  AND r.lifecycle_stage = 'active'\n"
        "ORDER BY r.start_time DESC, r.run_id ASC\n"
        "LIMIT $2::bigint"
    )
    assert q.args == [1, 101]  # one extra row tells the caller another page exists


def test_several_experiments_use_an_array() -> None:
    q = runs(experiment_ids=[3, 1, 2])
    assert "r.experiment_id = ANY($1::bigint[])" in q.sql
    assert q.args[0] == [3, 1, 2]


@pytest.mark.parametrize(
    ("view", "clause"),
    [("active", "lifecycle_stage = 'active'"), ("deleted", "lifecycle_stage = 'deleted'")],
)
def test_views(view: str, clause: str) -> None:
    assert clause in runs(view=view).sql
    assert clause in experiments(view=view).sql


def test_view_all_has_no_lifecycle_filter() -> None:
    assert "WHERE r.experiment_id = $1::bigint\nORDER BY" in runs(view="all").sql
    assert "lifecycle_stage" not in experiments(view="all").sql


def test_bad_arguments() -> None:
    with pytest.raises(InvalidArgument) as info:
        runs(view="archived")
    assert info.value.field == "view"
    for limit in (0, -1, MAX_LIMIT + 1):
        with pytest.raises(InvalidArgument) as info:
            runs(limit=limit)
        assert info.value.field == "max_results"
    with pytest.raises(InvalidArgument) as info:
        runs(experiment_ids=["x"])
    assert info.value.field == "experiment_ids"
    with pytest.raises(InvalidArgument) as info:
        runs(filter="metrics.a > 'x'")
    assert info.value.field == "filter"
    with pytest.raises(InvalidArgument) as info:
        runs(order_by=["nope"])
    assert info.value.field == "order_by"


def test_every_value_and_key_is_a_parameter() -> None:
    evil = "x'; DROP TABLE runs; --"
    q = runs(
        filter=(
            f"metrics.`{evil}` > 1 and params.`{evil}` = '{evil.replace(chr(39), chr(39) * 2)}'"
            f" and tags.`{evil}` LIKE \"{evil}\" and run_name IN ('{evil.replace(chr(39), '')}')"
            f' and datasets.context = "{evil}" and user_id != "{evil}"'
        ),
        order_by=[f"tags.`{evil}` DESC", f"params.`{evil}`"],
    )
    assert "DROP" not in q.sql and "--" not in q.sql
    assert evil in q.args
    # every placeholder has an argument and every argument is used
    assert placeholders(q.sql) == set(range(1, len(q.args) + 1))


@pytest.mark.parametrize(
    ("text", "fragment", "args"),
    [
        (
            "metrics.acc > 0.5",
            "EXISTS (SELECT 1 FROM latest_metrics x WHERE x.run_id = r.run_id AND x.key = $2::text"
            " AND x.value > $3::float8 AND x.value < 'NaN'::float8)",
            ["acc", 0.5],
        ),
        ("metrics.acc <= 0", "AND x.value <= $3::float8)", ["acc", 0.0]),
        ("metrics.acc != 0", "AND x.value <> $3::float8)", ["acc", 0.0]),
        (
            "params.lr = '0.1'",
            "EXISTS (SELECT 1 FROM params x WHERE x.run_id = r.run_id AND x.key = $2::text"
            " AND x.value = $3::text AND length(x.value) <= 1024)",
            ["lr", "0.1"],
        ),
        ("tags.t ILIKE 'a%'", "FROM tags x WHERE", ["t", "a%"]),
        ("tags.t ILIKE 'a%'", "x.value ILIKE $3::text", ["t", "a%"]),
        ("params.o IN ('a', 'b')", "x.value = ANY($3::text[])", ["o", ["a", "b"]]),
        ("params.o NOT IN ('a')", "x.value <> ALL($3::text[])", ["o", ["a"]]),
        (
            "params.o IS NULL",
            "NOT EXISTS (SELECT 1 FROM params x WHERE x.run_id = r.run_id AND x.key = $2::text)",
            ["o"],
        ),
        (
            "tags.o IS NOT NULL",
            "AND EXISTS (SELECT 1 FROM tags x WHERE x.run_id = r.run_id AND x.key = $2::text)",
            ["o"],
        ),
        (f"run_id = '{RUN_A}'", "r.run_id = $2::uuid", [RUN_A]),
        (f"run_id IN ('{RUN_A}','{RUN_B}')", "r.run_id = ANY($2::uuid[])", [[RUN_A, RUN_B]]),
        (f"run_id NOT IN ('{RUN_A}')", "r.run_id <> ALL($2::uuid[])", [[RUN_A]]),
        ("run_name LIKE 'x%'", "r.name LIKE $2::text", ["x%"]),
        ("status != 'FAILED'", "r.status <> $2::text", ["FAILED"]),
        ("user_id = 'ann'", "r.user_id = $2::text", ["ann"]),
        ("artifact_uri = 's3://b'", "r.artifact_uri = $2::text", ["s3://b"]),
        ("start_time >= 5", "r.start_time >= $2::bigint", [5]),
        ("end_time < 5", "r.end_time < $2::bigint", [5]),
        (
            "datasets.name = 'train'",
            "EXISTS (SELECT 1 FROM run_inputs ri JOIN datasets d ON d.dataset_id = ri.dataset_id"
            " WHERE ri.run_id = r.run_id AND d.name = $2::text)",
            ["train"],
        ),
        ("datasets.digest IN ('d')", "d.digest = ANY($2::text[])", [["d"]]),
        (
            "datasets.context = 'training'",
            "(ri.tags ->> $2::text) = $3::text",
            ["mlflow.data.context", "training"],
        ),
    ],
)
def test_run_conditions(text: str, fragment: str, args: list[object]) -> None:
    q = runs(filter=text)
    assert fragment in q.sql
    assert q.args[1 : 1 + len(args)] == args


def test_conditions_are_anded() -> None:
    q = runs(filter="metrics.a > 1 and params.b = 'x' and status = 'FINISHED'")
    where = q.sql.split("WHERE ", 1)[1].split("\nORDER BY")[0]
    assert where.count("\n  AND ") == 4  # experiment, lifecycle, three comparisons
    assert " OR " not in where


def test_order_by_metric_joins_and_sorts_nulls_last() -> None:
    q = runs(order_by=["metrics.acc", "params.lr DESC", "tags.t", "end_time DESC"])
    assert "LEFT JOIN latest_metrics o0 ON o0.run_id = r.run_id AND o0.key = $" in q.sql
    assert "LEFT JOIN params o1 ON o1.run_id = r.run_id AND o1.key = $" in q.sql
    assert "LEFT JOIN tags o2 ON o2.run_id = r.run_id AND o2.key = $" in q.sql
    assert (
        "ORDER BY o0.value ASC NULLS LAST, o1.value DESC NULLS LAST, o2.value ASC NULLS LAST,"
        " r.end_time DESC NULLS LAST, r.start_time DESC, r.run_id ASC"
    ) in q.sql
    assert "o0.value AS sort_0" in q.sql and "r.run_id AS sort_5" in q.sql
    assert ["acc", "lr", "t"] == [a for a in q.args if a in ("acc", "lr", "t")]


def test_metric_descending_puts_nan_after_numbers() -> None:
    q = runs(order_by=["metrics.acc DESC"])
    assert "ORDER BY (o0.value = 'NaN'::float8) ASC NULLS LAST, o0.value DESC NULLS LAST," in q.sql


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["start_time ASC"], "ORDER BY r.start_time ASC, r.run_id ASC\n"),
        (["run_id DESC"], "ORDER BY r.run_id DESC\n"),
        (["status", "run_id", "metrics.a"], "ORDER BY r.status ASC, r.run_id ASC\n"),
        (["params.a", "params.a DESC"], "ORDER BY o0.value ASC NULLS LAST, r.start_time DESC"),
    ],
)
def test_tie_breakers_are_not_repeated(order_by: list[str], expected: str) -> None:
    assert expected in runs(order_by=order_by).sql


def test_experiment_search() -> None:
    q = experiments(filter="name LIKE 'a%' and tags.owner = 'ann' and tags.gone IS NULL")
    assert q.sql == (
        "SELECT e.experiment_id, e.creation_time AS sort_0, e.experiment_id AS sort_1\n"
        "FROM experiments e\n"
        "WHERE e.lifecycle_stage = 'active'\n"
        "  AND e.name LIKE $1::text\n"
        "  AND EXISTS (SELECT 1 FROM experiment_tags x WHERE x.experiment_id = e.experiment_id"
        " AND x.key = $2::text AND x.value = $3::text AND length(x.value) <= 1024)\n"
        "  AND NOT EXISTS (SELECT 1 FROM experiment_tags x WHERE"
        " x.experiment_id = e.experiment_id AND x.key = $4::text)\n"
        "ORDER BY e.creation_time DESC, e.experiment_id ASC\n"
        "LIMIT $5::bigint"
    )
    assert q.args == ["a%", "owner", "ann", "gone", 101]


def test_experiment_order_by() -> None:
    q = experiments(order_by=["name DESC"], filter="creation_time > 5")
    assert "ORDER BY e.name DESC, e.experiment_id ASC" in q.sql
    assert "e.creation_time > $1::bigint" in q.sql
    assert "ORDER BY e.experiment_id DESC\n" in experiments(order_by=["experiment_id DESC"]).sql


# --- page tokens -----------------------------------------------------------------


def test_token_round_trip_default_order() -> None:
    q = runs(filter="params.a = 'x'")
    token = q.next_token({"run_id": uuid.UUID(RUN_A), "sort_0": 1234, "sort_1": uuid.UUID(RUN_A)})
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # url-safe, unpadded
    assert token_payload(token)["k"] == [1234, RUN_A]

    nxt = runs(filter="params.a = 'x'", page_token=token)
    assert (
        "  AND r.start_time <= $4::bigint\n"
        "  AND ((r.start_time < $4::bigint)"
        " OR (r.start_time = $4::bigint AND r.run_id > $5::uuid))\n"
    ) in nxt.sql
    assert nxt.args[3:] == [1234, RUN_A, 101]


def test_token_accepts_run_ids_as_text() -> None:
    q = runs()
    dashed = str(uuid.UUID(RUN_B))
    assert token_payload(q.next_token({"sort_0": 1, "sort_1": dashed}))["k"] == [1, RUN_B]
    assert token_payload(q.next_token({"sort_0": 1, "sort_1": RUN_B}))["k"] == [1, RUN_B]


def test_keyset_with_nulls_and_mixed_directions() -> None:
    order = ["metrics.m DESC", "params.p", "end_time DESC"]
    q = runs(order_by=order)
    row = {"sort_0": 0.5, "sort_1": "lr", "sort_2": None, "sort_3": 10, "sort_4": RUN_A}
    nxt = runs(order_by=order, page_token=q.next_token(row))
    m, p, e, s, rid = "o0.value", "o1.value", "r.end_time", "r.start_time", "r.run_id"
    expected = (
        f"(({m} < $4::float8 OR {m} = 'NaN'::float8 OR {m} IS NULL))"
        f" OR ({m} = $4::float8 AND ({p} > $5::text OR {p} IS NULL))"
        f" OR ({m} = $4::float8 AND {p} = $5::text AND {e} IS NULL AND {s} < $6::bigint)"
        f" OR ({m} = $4::float8 AND {p} = $5::text AND {e} IS NULL AND {s} = $6::bigint"
        f" AND {rid} > $7::uuid)"
    )
    assert f"  AND ({expected})\n" in nxt.sql
    assert nxt.args[3:7] == [0.5, "lr", 10, RUN_A]


def test_keyset_after_a_nan_and_after_a_null() -> None:
    q = runs(order_by=["metrics.m"])
    nan_row = {"sort_0": float("nan"), "sort_1": 3, "sort_2": RUN_A}
    token = q.next_token(nan_row)
    assert token_payload(token)["k"][0] == "NaN"
    sql = runs(order_by=["metrics.m"], page_token=token).sql
    # only runs without the metric, or NaN ties broken by the later keys, follow a NaN
    assert "((o0.value IS NULL) OR (o0.value = 'NaN'::float8 AND r.start_time < $3::bigint)" in sql

    null_row = {"sort_0": None, "sort_1": 3, "sort_2": RUN_A}
    sql = runs(order_by=["metrics.m"], page_token=q.next_token(null_row)).sql
    assert "((o0.value IS NULL AND r.start_time < $3::bigint) OR (o0.value IS NULL AND" in sql


def test_infinite_metric_values_survive_the_token() -> None:
    q = runs(order_by=["metrics.m"])
    token = q.next_token({"sort_0": float("-inf"), "sort_1": 3, "sort_2": RUN_A})
    assert token_payload(token)["k"][0] == "-Infinity"
    assert runs(order_by=["metrics.m"], page_token=token).args[1:2] == ["m"]
    assert float("-inf") in runs(order_by=["metrics.m"], page_token=token).args


def test_experiment_token_round_trip() -> None:
    q = experiments(order_by=["name"])
    token = q.next_token({"experiment_id": 7, "sort_0": "beta", "sort_1": 7})
    nxt = experiments(order_by=["name"], page_token=token)
    assert "e.name >= $1::text" in nxt.sql
    assert "((e.name > $1::text) OR (e.name = $1::text AND e.experiment_id > $2::bigint))" in (
        nxt.sql
    )
    assert nxt.args == ["beta", 7, 101]


def test_token_survives_equivalent_requests() -> None:
    q = runs(experiment_ids=[1, 2], filter="params.a = 'x' AND metrics.b > 1", order_by=["tags.t"])
    token = q.next_token({"sort_0": "v", "sort_1": 1, "sort_2": RUN_A})
    same = runs(
        experiment_ids=[2, 1, 1],
        filter='params.a="x"   and metrics.`b`>1.0',
        order_by=["tags.`t` ASC"],
        page_token=token,
    )
    assert "o0.value > $" in same.sql


@pytest.mark.parametrize(
    "change",
    [
        {"filter": "params.a = 'y'"},
        {"filter": ""},
        {"order_by": ["tags.t DESC"]},
        {"order_by": ["tags.u"]},
        {"experiment_ids": [1, 3]},
        {"view": "all"},
    ],
)
def test_token_from_another_search_is_rejected(change: dict[str, Any]) -> None:
    base: dict[str, Any] = dict(experiment_ids=[1, 2], filter="params.a = 'x'", order_by=["tags.t"])
    token = runs(**base).next_token({"sort_0": "v", "sort_1": 1, "sort_2": RUN_A})
    with pytest.raises(InvalidArgument) as info:
        runs(**{**base, **change, "page_token": token})
    assert info.value.field == "page_token"
    assert "different search" in info.value.message


def test_run_token_is_not_an_experiment_token() -> None:
    token = runs().next_token({"sort_0": 1, "sort_1": RUN_A})
    with pytest.raises(InvalidArgument, match="different search"):
        experiments(page_token=token)


def _fingerprint_of(q: Query, row: dict[str, object]) -> str:
    return str(token_payload(q.next_token(row))["f"])


@pytest.mark.parametrize(
    "token",
    [
        "!!!!",
        "abc",
        "not a token",
        "ünï",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        make_token([1, 2]),
        make_token({"k": [1, RUN_A]}),
        make_token({"f": 5, "k": [1, RUN_A]}),
    ],
)
def test_garbled_tokens(token: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        runs(page_token=token)
    assert info.value.field == "page_token"
    assert "page_token" in info.value.message


@pytest.mark.parametrize(
    "values",
    [
        [],
        [1],
        [1, RUN_A, 3],
        ["1", RUN_A],
        [1.5, RUN_A],
        [True, RUN_A],
        [None, RUN_A],
        [1, None],
        [1, "nothex"],
        [1, "g" * 32],
        [1, 12],
        [2**63, RUN_A],
    ],
)
def test_tokens_with_wrong_values(values: list[object]) -> None:
    fingerprint = _fingerprint_of(runs(), {"sort_0": 1, "sort_1": RUN_A})
    with pytest.raises(InvalidArgument) as info:
        runs(page_token=make_token({"f": fingerprint, "k": values}))
    assert info.value.field == "page_token"


def test_wrong_values_for_nullable_and_float_keys() -> None:
    q = runs(order_by=["metrics.m", "params.p"])
    fingerprint = _fingerprint_of(q, {"sort_0": 1.0, "sort_1": "x", "sort_2": 1, "sort_3": RUN_A})
    for bad in (["NaNs", "x", 1, RUN_A], [1.0, 5, 1, RUN_A], [1.0, "x", None, RUN_A]):
        with pytest.raises(InvalidArgument):
            runs(
                order_by=["metrics.m", "params.p"],
                page_token=make_token({"f": fingerprint, "k": bad}),
            )
    ok = [None, None, 1, RUN_A]  # a run lacking both keys is a valid position
    assert runs(
        order_by=["metrics.m", "params.p"], page_token=make_token({"f": fingerprint, "k": ok})
    )


def test_oversized_token() -> None:
    with pytest.raises(InvalidArgument, match="too long"):
        runs(page_token="A" * (1024 * 1024))


@pytest.mark.parametrize(
    ("pattern", "bounds"),
    [
        ("a%", ["a", "b"]),
        ("team-%", ["team-", "team."]),
        ("it's%", ["it's", "it't"]),
        ("ü%", ["ü", "ý"]),
        ("z\U0010ffff%", None),  # no code point after the last one
        ("\ud7ff%", None),  # the next one would be a surrogate
        ("%", None),
        ("a_%", None),
        ("a%b%", None),
        ("%a", None),
        ("a\\%%", None),
        ("abc", None),
    ],
)
def test_literal_prefix_like_becomes_a_range(pattern: str, bounds: list[str] | None) -> None:
    q = runs(filter=f"tags.t LIKE '{pattern.replace(chr(39), chr(39) * 2)}'")
    if bounds is None:
        assert "x.value LIKE $3::text" in q.sql
        assert q.args[1:3] == ["t", pattern]
    else:
        assert 'x.value COLLATE "C" >= $3::text AND x.value COLLATE "C" < $4::text' in q.sql
        assert q.args[1:4] == ["t", *bounds]


def test_prefix_range_applies_to_params_and_experiment_tags_only() -> None:
    assert 'x.value COLLATE "C" >= $3::text' in runs(filter="params.p LIKE 'a%'").sql
    assert 'x.value COLLATE "C" >= $2::text' in experiments(filter="tags.t LIKE 'a%'").sql
    assert "x.value ILIKE $3::text" in runs(filter="params.p ILIKE 'a%'").sql
    assert "r.name LIKE $2::text" in runs(filter="run_name LIKE 'a%'").sql
    assert "e.name LIKE $1::text" in experiments(filter="name LIKE 'a%'").sql
