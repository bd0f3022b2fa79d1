"""Keyset page tokens (switchyard.core.paging), apart from any one search."""

from __future__ import annotations

import base64
import json
import re

import pytest

from switchyard.core import paging
from switchyard.core.paging import SortKey, TokenRules
from switchyard.core.sql_params import SqlParams
from switchyard.errors import InvalidArgument

KEYS = (
    SortKey("m.value", "float8", False, nullable=True, nan=True),
    SortKey("r.name", "text", True),
    SortKey("r.start", "bigint", False),
    SortKey("r.id", "uuid", True),
)
RULES = TokenRules(max_chars=1024, changed="filter")
RUN = "0123456789abcdef0123456789abcdef"


def test_round_trip_keeps_every_kind_of_value() -> None:
    search = paging.fingerprint("runs", ["a > 1"])
    for first in (0.5, float("nan"), float("-inf"), None):
        token = paging.encode(search, KEYS, [first, "x", 7, RUN])
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # url-safe, unpadded
        values = paging.decode(token, search, KEYS, RULES)
        assert values[1:] == ["x", 7, RUN]
        if first is None:
            assert values[0] is None
        elif first != first:  # NaN comes back as the marker, not as a float
            assert values[0] is paging.NAN
        else:
            assert values[0] == first


def test_a_token_continues_only_its_own_search() -> None:
    token = paging.encode(paging.fingerprint("runs", 1), KEYS, [1.0, "x", 7, RUN])
    with pytest.raises(InvalidArgument) as err:
        paging.decode(token, paging.fingerprint("runs", 2), KEYS, RULES)
    assert err.value.field == "page_token" and "the filter changed" in err.value.message


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "garbage!!",
        "é",
        "a" * 2000,
        _token([1, 2]),
        _token({"f": "S", "k": [1.0, "x", 7]}),  # one value short
        _token({"f": "S", "k": [1.0, "x", True, RUN]}),  # a bool is no bigint
        _token({"f": "S", "k": [1.0, "x", 2**63, RUN]}),  # beyond int8
        _token({"f": "S", "k": [1.0, None, 7, RUN]}),  # NULL in a NOT NULL key
        _token({"f": "S", "k": [1.0, "x", 7, "not-a-run-id-not-a-run-id-012345"]}),
    ],
)
def test_bad_tokens_are_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        paging.decode(token, "S", KEYS, RULES)
    assert err.value.field == "page_token"


def test_cut_keeps_the_page_and_tokens_its_last_row() -> None:
    q = SqlParams()
    query = paging.keyset_query(
        columns="r.id",
        source="runs r",
        where=[],
        keys=KEYS[1:],
        fingerprint="S",
        page_token="",
        limit=2,
        q=q,
        tokens=RULES,
    )
    assert query.sql.endswith("LIMIT $1::bigint") and query.args == [3]  # one row beyond
    rows = [{"sort_0": n, "sort_1": i, "sort_2": RUN} for i, n in enumerate("abc")]
    page, token = paging.cut(rows, query, 2)
    assert page == rows[:2]
    assert paging.decode(token, "S", KEYS[1:], RULES) == ["b", 1, RUN]
    assert paging.cut(rows[:2], query, 2) == (rows[:2], "")  # no row beyond: the last page
