"""The Open Inference Protocol's REST paths and error object, without tensors.

The gateway routes on these and never decodes a tensor, so this module
imports no numpy (a gateway at rest stays small); `oip_rest` re-exports both.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

_dumps = json.JSONEncoder(separators=(",", ":")).encode


def error_body(message: str) -> bytes:
    """The protocol's error object."""
    return _dumps({"error": message}).encode()


_TAILS = ("infer", "ready")


def model_name_of(path: str) -> tuple[str, str, str] | None:
    """`/v2/models/{name}[/versions/{v}][/infer|/ready]` -> (name, version, tail), the tail
    "" (metadata), "infer" or "ready"; None when `path` is not such a path."""
    if not path.startswith("/v2/models/"):
        return None
    parts = path[len("/v2/models/") :].rstrip("/").split("/")
    name, rest = parts[0], parts[1:]
    version = tail = ""
    if len(rest) >= 2 and rest[0] == "versions":
        version, rest = rest[1], rest[2:]
    if len(rest) == 1 and rest[0] in _TAILS:
        tail, rest = rest[0], []
    if rest or not name or (not version and len(parts) > 1 and parts[1] == "versions"):
        return None
    if "%" in path:
        name, version = unquote(name), unquote(version)
    return name, version, tail
