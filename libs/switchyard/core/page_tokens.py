"""Keyset page tokens: the last row's sort values, bound to the search they came from.

A token is url-safe base64 of compact JSON `{"f": fingerprint, "k": values}`.
The fingerprint hashes the parsed search, so a token replayed against another
filter or order is refused instead of silently skipping or repeating rows.
Services decide what the values are; this module only wraps and checks them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from switchyard.errors import InvalidArgument


def fingerprint(*parts: object) -> str:
    """A short stable hash of the parsed search (pass parsed forms, not raw text)."""
    return base64.urlsafe_b64encode(hashlib.sha256(repr(parts).encode()).digest()[:9]).decode()


def encode(search: str, values: list[object]) -> str:
    payload = json.dumps({"f": search, "k": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def bad_token(why: str) -> InvalidArgument:
    return InvalidArgument(
        f"page_token is not valid ({why}); start again without it", field="page_token"
    )


def decode(token: str, search: str, count: int, *, max_chars: int, changed: str) -> list[object]:
    """The `count` raw values of a token issued for `search`.

    `changed` names what a different search would have changed, for the message.
    """
    if len(token) > max_chars:
        raise bad_token("too long")
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        raise bad_token("not a token this server issued") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("f"), str):
        raise bad_token("unexpected contents")
    if payload["f"] != search:
        raise InvalidArgument(
            f"page_token belongs to a different search: the {changed} changed since it was"
            " issued; start again without it",
            field="page_token",
        )
    raw = payload.get("k")
    if not isinstance(raw, list) or len(raw) != count:
        raise bad_token("unexpected contents")
    return raw
