"""The checks every service shares (switchyard.core.validation)."""

from __future__ import annotations

import uuid

import pytest

from switchyard.core import validation as check
from switchyard.errors import InvalidArgument, NotFound


@pytest.mark.parametrize(
    ("value", "what"), [("a\x00b", "a NUL character"), ("é\ud800", "a lone surrogate")]
)
def test_text_postgres_cannot_store_is_refused(value: str, what: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        check.text(value, "tags[k].value", 100)
    assert err.value.field == "tags[k].value"
    assert what in err.value.message
    with pytest.raises(InvalidArgument):
        check.name(value, "name", 100)


def test_text_keeps_what_postgres_stores() -> None:
    for value in ("", "plain", "é ü 漢字 🚀", "tab\tnewline\n"):
        assert check.text(value, "f", 100) == value
    with pytest.raises(InvalidArgument) as err:
        check.text("x" * 11, "description", 10)
    assert err.value.field == "description" and "(got 11)" in err.value.message


@pytest.mark.parametrize("bad", ["", " ", "\t"])
def test_names_are_not_blank(bad: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        check.name(bad, "new_name", 10)
    assert err.value.field == "new_name"


@pytest.mark.parametrize("good", ["loss", "a/b", "val loss:top-1", "x.y_z", "k" * check.MAX_KEY])
def test_keys_follow_mlflow(good: str) -> None:
    assert check.key(good, "key") == good


@pytest.mark.parametrize(
    "bad", ["", "/abs", "a/../b", "..", "semi;colon", "nul\x00", "é\ud800", "k" * 251]
)
def test_bad_keys_name_their_field(bad: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        check.key(bad, "metrics.key")
    assert err.value.field == "metrics.key"


def test_tags_check_keys_and_values() -> None:
    assert check.tags([("a", "1"), ("a", "2")], "tags", 5) == {"a": "2"}
    with pytest.raises(InvalidArgument) as err:
        check.tags([("a", "123456")], "tags", 5)
    assert err.value.field == "tags[a].value"
    with pytest.raises(InvalidArgument) as err:
        check.tags([("/a", "1")], "tags", 5)
    assert err.value.field == "tags.key"


def test_ids() -> None:
    hex_id = uuid.uuid4().hex
    assert check.hex_id(hex_id, "job_id", "job id").hex == hex_id
    assert check.run_id(hex_id).hex == hex_id
    with pytest.raises(InvalidArgument) as err:
        check.hex_id("nope", "pipeline_id", "pipeline id")
    assert err.value.field == "pipeline_id" and "pipeline id" in err.value.message
    with pytest.raises(InvalidArgument) as err:
        check.run_id("")
    assert err.value.field == "run_id"
    with pytest.raises(NotFound) as missing:  # no run can have it: answered as a lookup
        check.run_id("z" * 32, "parent_run_id")
    assert missing.value.entity == "run" and missing.value.field == "parent_run_id"


def test_limits_and_page_sizes() -> None:
    assert check.max_results(0, 100, 10) == 10
    assert check.max_results(100, 100, 10) == 100
    for bad in (-1, 101):
        with pytest.raises(InvalidArgument) as err:
            check.max_results(bad, 100, 10)
        assert err.value.field == "max_results"
    for bad in (0, -1, 51):
        with pytest.raises(InvalidArgument):
            check.limit(bad, 50)
    assert check.non_negative(0.0, "cpus") == 0.0
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(InvalidArgument) as err:
            check.non_negative(bad, "resources.cpus")
        assert err.value.field == "resources.cpus"
