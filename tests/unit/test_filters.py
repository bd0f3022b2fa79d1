"""The MLflow search grammar: what parses to what, and what is rejected and why."""

from __future__ import annotations

import pytest

from switchyard.core.filters import (
    MAX_CLAUSES,
    MAX_FILTER_CHARS,
    MAX_KEY_CHARS,
    MAX_ORDER_BY,
    Comparison,
    OrderKey,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_run_filter,
    parse_run_order_by,
)
from switchyard.errors import InvalidArgument

RUN_ID = "0123456789abcdef0123456789abcdef"


def one(text: str) -> Comparison:
    [comparison] = parse_run_filter(text)
    return comparison


def run_error(text: str) -> str:
    with pytest.raises(InvalidArgument) as info:
        parse_run_filter(text)
    assert info.value.field == "filter"
    return info.value.message


# --- what parses ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_blank_filter_matches_everything(text: str) -> None:
    assert parse_run_filter(text) == []
    assert parse_experiment_filter(text) == []


@pytest.mark.parametrize("prefix", ["metrics", "metric", "METRICS", "`metrics`"])
@pytest.mark.parametrize("op", ["=", "!=", ">", ">=", "<", "<="])
def test_metric_comparisons(prefix: str, op: str) -> None:
    assert one(f"{prefix}.acc {op} 0.5") == Comparison("metric", "acc", op, 0.5)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("1", 1.0),
        ("-1", -1.0),
        ("+2", 2.0),
        (".5", 0.5),
        ("-.5", -0.5),
        ("3.", 3.0),
        ("1e3", 1000.0),
        ("-1.5E-3", -0.0015),
        ("2e+2", 200.0),
    ],
)
def test_numbers(literal: str, value: float) -> None:
    assert one(f"metrics.loss < {literal}").value == value
    assert one(f"metrics.loss<{literal}").value == value


@pytest.mark.parametrize("prefix", ["params", "param", "parameters", "parameter"])
def test_param_prefixes(prefix: str) -> None:
    assert one(f"{prefix}.lr = '0.1'") == Comparison("param", "lr", "=", "0.1")


@pytest.mark.parametrize("kind", ["params", "tags"])
@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE", "like", "iLike"])
def test_param_and_tag_string_operators(kind: str, op: str) -> None:
    c = one(f"{kind}.k {op} 'v%'")
    assert (c.kind, c.key, c.op, c.value) == (kind[:-1], "k", op.upper(), "v%")


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("params.lr IS NULL", "IS NULL"),
        ("params.lr is null", "IS NULL"),
        ("tags.env IS NOT NULL", "IS NOT NULL"),
        ("tags.env  is   NOT   Null", "IS NOT NULL"),
    ],
)
def test_is_null(text: str, op: str) -> None:
    c = one(text)
    assert (c.op, c.value) == (op, None)


@pytest.mark.parametrize(
    ("text", "op", "values"),
    [
        ("params.opt IN ('adam')", "IN", ("adam",)),
        ("params.opt in ('adam', \"sgd\")", "IN", ("adam", "sgd")),
        ("tags.t NOT IN ('a','b','c')", "NOT IN", ("a", "b", "c")),
        ("tags.t not in('a')", "NOT IN", ("a",)),
        ("datasets.name IN ('train', 'eval')", "IN", ("train", "eval")),
        ("status IN ('FAILED', 'KILLED')", "IN", ("FAILED", "KILLED")),
    ],
)
def test_in_lists(text: str, op: str, values: tuple[str, ...]) -> None:
    c = one(text)
    assert (c.op, c.value) == (op, values)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("params.p = 'it''s'", "it's"),
        ('params.p = "say ""hi"""', 'say "hi"'),
        ('params.p = "it\'s"', "it's"),
        ("params.p = ''", ""),
        ("params.p = 'a AND b OR c'", "a AND b OR c"),
        ("params.p LIKE 'a\\_b%'", "a\\_b%"),  # backslash stays for SQL LIKE
        ("params.p = 'ünïcode ✓'", "ünïcode ✓"),
    ],
)
def test_string_quoting(text: str, value: str) -> None:
    assert one(text).value == value


@pytest.mark.parametrize(
    ("text", "kind", "key"),
    [
        ("tags.mlflow.user = 'x'", "tag", "mlflow.user"),
        ("tags.`mlflow.runName` = 'x'", "tag", "mlflow.runName"),
        ("tags.\"mlflow.runName\" = 'x'", "tag", "mlflow.runName"),
        ("metrics.`my metric` > 1", "metric", "my metric"),
        ('metrics."my metric" > 1', "metric", "my metric"),
        ("metrics.`a``b` > 1", "metric", "a`b"),
        ("metrics.train/loss-v2:x > 1", "metric", "train/loss-v2:x"),
        ("metrics.1st > 1", "metric", "1st"),
        ("`metrics`.acc > 1", "metric", "acc"),
        ("params.`a`.b = 'x'", "param", "a.b"),
    ],
)
def test_keys(text: str, kind: str, key: str) -> None:
    c = one(text)
    assert (c.kind, c.key) == (kind, key)


@pytest.mark.parametrize("prefix", ["", "attributes.", "attribute.", "attr.", "run.", "`attr`."])
def test_attribute_prefixes(prefix: str) -> None:
    assert one(f"{prefix}status = 'FINISHED'") == Comparison("attribute", "status", "=", "FINISHED")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"run_id = '{RUN_ID}'", Comparison("attribute", "run_id", "=", RUN_ID)),
        (f"run_id != '{RUN_ID.upper()}'", Comparison("attribute", "run_id", "!=", RUN_ID)),
        (
            "run_id = '01234567-89ab-cdef-0123-456789abcdef'",
            Comparison("attribute", "run_id", "=", RUN_ID),
        ),
        (
            f"attributes.run_id IN ('{RUN_ID}', '{'f' * 32}')",
            Comparison("attribute", "run_id", "IN", (RUN_ID, "f" * 32)),
        ),
        (f"run_id NOT IN ('{RUN_ID}')", Comparison("attribute", "run_id", "NOT IN", (RUN_ID,))),
        ("run_name LIKE 'exp-%'", Comparison("attribute", "run_name", "LIKE", "exp-%")),
        ("`Run name` = 'x'", Comparison("attribute", "run_name", "=", "x")),
        ("user_id = 'ann'", Comparison("attribute", "user_id", "=", "ann")),
        ("artifact_uri ILIKE 's3://%'", Comparison("attribute", "artifact_uri", "ILIKE", "s3://%")),
        ("status LIKE 'F%'", Comparison("attribute", "status", "LIKE", "F%")),
        ("start_time >= 1700000000000", Comparison("attribute", "start_time", ">=", 1700000000000)),
        ("end_time < 1.7e12", Comparison("attribute", "end_time", "<", 1700000000000)),
        ("created > 5", Comparison("attribute", "start_time", ">", 5)),
    ],
)
def test_attributes(text: str, expected: Comparison) -> None:
    assert one(text) == expected


def test_time_attributes_are_ints() -> None:
    assert isinstance(one("start_time > 1e3").value, int)


@pytest.mark.parametrize("key", ["name", "digest", "context"])
@pytest.mark.parametrize("prefix", ["datasets", "dataset"])
def test_datasets(prefix: str, key: str) -> None:
    assert one(f"{prefix}.{key} != 'x'") == Comparison("dataset", key, "!=", "x")


def test_clauses_join_with_and_in_any_case() -> None:
    assert parse_run_filter(
        "metrics.acc > 0.9 and params.lr = '0.1' AND tags.team LIKE 'a%' aNd status = 'FINISHED'"
    ) == [
        Comparison("metric", "acc", ">", 0.9),
        Comparison("param", "lr", "=", "0.1"),
        Comparison("tag", "team", "LIKE", "a%"),
        Comparison("attribute", "status", "=", "FINISHED"),
    ]


def test_whitespace_is_free_form() -> None:
    assert len(parse_run_filter("  metrics.a>1 AND\n params.b='x'  ")) == 2
    assert parse_run_filter("metrics.a>1 AND params.b='x'") == parse_run_filter(
        "metrics.a > 1\n\tAND  params.b = 'x'"
    )


def test_experiment_filter() -> None:
    assert parse_experiment_filter(
        "name LIKE 'team-%' and attributes.name != 'x' AND creation_time > 10 "
        "and last_update_time <= 20 and tags.owner = 'ann' and tags.`a b` ILIKE 'z%' "
        "and tags.gone IS NULL and tags.here IS NOT NULL and name IN ('a', 'b')"
    ) == [
        Comparison("attribute", "name", "LIKE", "team-%"),
        Comparison("attribute", "name", "!=", "x"),
        Comparison("attribute", "creation_time", ">", 10),
        Comparison("attribute", "last_update_time", "<=", 20),
        Comparison("tag", "owner", "=", "ann"),
        Comparison("tag", "a b", "ILIKE", "z%"),
        Comparison("tag", "gone", "IS NULL", None),
        Comparison("tag", "here", "IS NOT NULL", None),
        Comparison("attribute", "name", "IN", ("a", "b")),
    ]


# --- what is rejected ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("metrics.a > 1 OR metrics.b > 1", ["'OR' is not supported", "AND", "column 15"]),
        ("metrics.a > 1 or params.b = 'x'", ["'OR' is not supported"]),
        ("foo.a = 1", ["unknown entity 'foo'", "metrics, params, tags, attributes, datasets"]),
        ("bogus = 'x'", ["unknown attribute 'bogus'", "run_id", "start_time"]),
        ("attributes.name = 'x'", ["unknown attribute 'name'"]),
        ("datasets.size = 'x'", ["unknown dataset field 'size'", "name, digest, context"]),
        ("metrics.acc > 'high'", ["expected a number for metric 'acc'", "'high'"]),
        ("metrics.acc > high", ["expected a number for metric 'acc'"]),
        ("params.lr = 0.1", ["expected a quoted string for param 'lr'", "'0.1'"]),
        ("tags.t = bare", ["expected a quoted string for tag 't'", "quote string values"]),
        ("status = FINISHED", ["expected a quoted string for attribute 'status'"]),
        ("start_time > '5'", ["expected a number for attribute 'start_time'"]),
        ("start_time > 1.5", ["expected an integer", "'1.5'"]),
        ("start_time > 1e30", ["out of range"]),
        ("params.lr = 'abc", ["unterminated string", "column 13"]),
        ('params.lr = "abc', ["unterminated string"]),
        ("metrics.`abc > 1", ["unterminated quoted name"]),
        ("params.x IN ()", ["IN list for param 'x' is empty"]),
        ("params.x NOT IN ( )", ["NOT IN list for param 'x' is empty"]),
        ("params.x IN ('a',)", ["IN lists hold quoted strings", "')'"]),
        ("params.x IN ('a' 'b')", ["expected ',' or ')' in IN list", "'b'"]),
        ("params.x IN ('a', 1)", ["IN lists hold quoted strings", "'1'"]),
        ("params.x IN 'a'", ["expected '(' after IN"]),
        ("params.x IN ('a'", ["expected ',' or ')'", "end of input"]),
        ("metrics.a > 1 garbage", ["unexpected 'garbage'", "join clauses with AND"]),
        ("metrics.a > 1 'x'", ["unexpected 'x'"]),
        ("metrics.a > 1 AND", ["dangling AND"]),
        ("metrics.a > 1 AND AND metrics.b > 1", ["expected a key", "'AND'"]),
        ("AND metrics.a > 1", ["expected a key", "'AND'"]),
        ("metrics.a", ["expected an operator after metric 'a'", "end of input"]),
        ("metrics.my metric > 1", ["expected an operator", "'metric'", "backticks"]),
        ("metrics.a == 1", ["unsupported operator '=='"]),
        ("params.a <> 'x'", ["unsupported operator '<>'"]),
        ("params.a NOT LIKE 'x'", ["expected IN after NOT", "'LIKE'"]),
        ("params.a IS 'x'", ["expected NULL or NOT NULL after IS"]),
        ("metrics.a IN ('1')", ["operator 'IN' is not supported for metric 'a'", "=, !="]),
        ("metrics.a IS NULL", ["operator 'IS NULL' is not supported for metric 'a'"]),
        ("metrics.a LIKE '1%'", ["operator 'LIKE' is not supported"]),
        ("params.a > '1'", ["operator '>' is not supported for param 'a'", "LIKE", "IS NULL"]),
        ("start_time LIKE '1%'", ["operator 'LIKE' is not supported for attribute 'start_time'"]),
        ("run_id LIKE 'ab%'", ["operator 'LIKE' is not supported for attribute 'run_id'"]),
        ("status IS NULL", ["operator 'IS NULL' is not supported"]),
        ("datasets.name IS NULL", ["operator 'IS NULL' is not supported for dataset"]),
        ("run_id = 'xyz'", ["run_id 'xyz' is not a 32-character hex run id"]),
        (f"run_id IN ('{RUN_ID}', 'nothex')", ["run_id 'nothex'"]),
        ("status = 'DONE'", ["status 'DONE' is not one of", "FINISHED"]),
        ("status IN ('FINISHED', 'finished')", ["status 'finished' is not one of"]),
        ("(metrics.a > 1)", ["parentheses are only supported around IN lists"]),
        ("metrics.a > 1 AND (params.b = 'x')", ["parentheses"]),
        ("metrics. a > 1", ["expected a key after '.'"]),
        ("metrics.`` > 1", ["empty key"]),
        ("metrics.a > 1.2.3", ["invalid number"]),
        ("metrics.a > 5x", ["invalid number '5x'"]),
        ("metrics.a > 1; DROP TABLE runs", ["unexpected character ';'"]),
        ("metrics.a ~ 1", ["unexpected character '~'"]),
        ("12 = 1", ["expected a key", "'12'"]),
        ("'x' = 1", ["expected a key"]),
    ],
)
def test_run_filter_errors(text: str, fragments: list[str]) -> None:
    message = run_error(text)
    assert message.startswith("invalid filter at column ")
    for fragment in fragments:
        assert fragment in message


def test_error_column_points_at_the_token() -> None:
    text = "metrics.a > 1 AND params.b = 2"
    message = run_error(text)
    column = int(message.split("column ")[1].split(":")[0])
    assert text[column - 1 :] == "2"


def test_limits() -> None:
    assert "limit" in run_error("x" * (MAX_FILTER_CHARS + 1))
    assert "longer than" in run_error(f"metrics.{'k' * (MAX_KEY_CHARS + 1)} > 1")
    assert parse_run_filter(f"metrics.{'k' * MAX_KEY_CHARS} > 1")
    many = " AND ".join(f"metrics.m{i} > 0" for i in range(MAX_CLAUSES + 1))
    assert f"more than {MAX_CLAUSES} clauses" in run_error(many)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("metrics.a > 1", ["unknown entity 'metrics'", "attributes, tags"]),
        ("params.a = 'x'", ["unknown entity 'params'"]),
        ("status = 'FINISHED'", ["unknown attribute 'status'", "name, creation_time"]),
        ("experiment_id = '1'", ["unknown attribute 'experiment_id'"]),
        ("name = 1", ["expected a quoted string for attribute 'name'"]),
        ("creation_time > 'x'", ["expected a number"]),
        ("name OR", ["expected an operator"]),
        ("tags.a > 'x'", ["operator '>' is not supported for tag 'a'"]),
        ("name = 'a' or name = 'b'", ["'OR' is not supported"]),
    ],
)
def test_experiment_filter_errors(text: str, fragments: list[str]) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_experiment_filter(text)
    assert info.value.field == "filter"
    for fragment in fragments:
        assert fragment in info.value.message


# --- order_by --------------------------------------------------------------------


def test_run_order_by() -> None:
    assert parse_run_order_by(
        [
            "metrics.acc DESC",
            "params.lr",
            "tags.`my tag` asc",
            "attributes.start_time",
            "start_time DESC",
            "run_name",
            'tags."mlflow.runName" Desc',
            "status",
            "end_time",
            "run_id",
            "created DESC",
            "metrics.`val loss`   DESC",
        ]
    ) == [
        OrderKey("metric", "acc", False),
        OrderKey("param", "lr", True),
        OrderKey("tag", "my tag", True),
        OrderKey("attribute", "start_time", True),
        OrderKey("attribute", "start_time", False),
        OrderKey("attribute", "run_name", True),
        OrderKey("tag", "mlflow.runName", False),
        OrderKey("attribute", "status", True),
        OrderKey("attribute", "end_time", True),
        OrderKey("attribute", "run_id", True),
        OrderKey("attribute", "start_time", False),
        OrderKey("metric", "val loss", False),
    ]


def test_empty_order_by() -> None:
    assert parse_run_order_by([]) == []
    assert parse_experiment_order_by([]) == []


def test_lone_string_is_one_clause() -> None:
    assert parse_run_order_by("metrics.acc DESC") == [OrderKey("metric", "acc", False)]


def test_experiment_order_by() -> None:
    assert parse_experiment_order_by(
        ["name", "creation_time DESC", "attributes.last_update_time asc", "experiment_id DESC"]
    ) == [
        OrderKey("attribute", "name", True),
        OrderKey("attribute", "creation_time", False),
        OrderKey("attribute", "last_update_time", True),
        OrderKey("attribute", "experiment_id", False),
    ]


@pytest.mark.parametrize(
    ("clause", "fragments"),
    [
        ("metrics.acc DESCENDING", ["unexpected 'DESCENDING'", "ASC or DESC"]),
        ("metrics.acc DESC ASC", ["unexpected 'ASC'"]),
        ("", ["empty clause"]),
        ("   ", ["empty clause"]),
        ("datasets.name", ["unknown entity 'datasets'"]),
        ("bogus", ["unknown attribute 'bogus'"]),
        ("metrics.acc, params.lr", ["unexpected ','"]),
        ("metrics.`acc DESC", ["unterminated quoted name"]),
        ("DESC", ["unknown attribute 'DESC'"]),
    ],
)
def test_run_order_by_errors(clause: str, fragments: list[str]) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_run_order_by(["params.ok", clause])
    assert info.value.field == "order_by"
    assert info.value.message.startswith(f"invalid order_by {clause!r}")
    for fragment in fragments:
        assert fragment in info.value.message


@pytest.mark.parametrize(
    ("clause", "fragment"),
    [
        ("tags.owner", "unknown entity 'tags'"),
        ("metrics.acc", "unknown entity 'metrics'"),
        ("status", "unknown attribute 'status'"),
    ],
)
def test_experiment_order_by_errors(clause: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_experiment_order_by([clause])
    assert info.value.field == "order_by"
    assert fragment in info.value.message


def test_order_by_limit() -> None:
    with pytest.raises(InvalidArgument, match="limit"):
        parse_run_order_by(["params.a"] * (MAX_ORDER_BY + 1))
