"""Artifact paths: what `clean_path` keeps, and what it refuses with a message
naming the field (never an OSError from the file system, which was a 500)."""

from __future__ import annotations

import pytest

from switchyard.core.artifacts import MAX_NAME_BYTES, MAX_PATH_BYTES, clean_path
from switchyard.errors import InvalidArgument


@pytest.mark.parametrize(
    ("path", "cleaned"),
    [(None, ""), ("", ""), ("a/./b//c/", "a/b/c"), ("😀/x.txt", "😀/x.txt")],
)
def test_kept(path: str | None, cleaned: str) -> None:
    assert clean_path(path) == cleaned


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "a/../../b",
        "a\\b",
        "a\x00b",
        "x" * (MAX_NAME_BYTES + 1),
        "é" * (MAX_NAME_BYTES // 2 + 1),  # the limit is in bytes, not characters
        "/".join(["x" * 200] * (MAX_PATH_BYTES // 200 + 1)),
    ],
)
def test_refused_naming_the_field(path: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        clean_path(path, field="artifact_path")
    assert caught.value.field == "artifact_path"
