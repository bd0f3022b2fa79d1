"""Input rules for the registry, as MLflow enforces them, checked before any write.

The checks every service shares (keys, text, names, run ids, page sizes)
live in `switchyard.core.validation`; these are the registry's limits and
entities: model names, aliases, stages, sources. Every failure names its field.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from switchyard.core import validation as check
from switchyard.core.ids import parse_hex_id
from switchyard.errors import InvalidArgument
from switchyard.proto.v1 import registry_pb2 as pb

MAX_NAME = 256
MAX_TAG_VALUE = 5000
MAX_ALIAS = 255
MAX_DESCRIPTION = 65_536
MAX_URI = 4096
MAX_SCHEMA = 1_000_000
MAX_ACTOR = 256
MAX_SEARCH = {"models": 1000, "versions": 10_000, "history": 10_000}
DEFAULT_SEARCH = {"models": 100, "versions": 1000, "history": 1000}

# Shared checks the servicer calls through this module.
run_id = check.run_id
text = check.text

STAGES = {s.lower(): s for s in ("None", "Staging", "Production", "Archived")}
ARCHIVING_STAGES = ("Staging", "Production")

# MLflow's rules: aliases letters, digits, '_' and '-', with "latest" and
# version-like names ("v3") reserved for URIs.
_ALIAS = re.compile(r"^[\w\-]+$")
_VERSION_LIKE = re.compile(r"^[vV]\d+$")
_FLAVOR = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
_DIGEST = re.compile(r"^[a-z0-9]+:[0-9a-f]{16,128}$")


def name(value: str, field: str = "name") -> str:
    """A registered model name: not empty; no '/' or '@' (they split model URIs)."""
    check.name(value, field, MAX_NAME)
    bad = next((ch for ch in value if ch in "/@" or ord(ch) < 32), None)
    if bad is not None:
        raise InvalidArgument(
            f"{field} {value!r} may not contain {bad!r}: model URIs are"
            " models:/<name>/<version> and models:/<name>@<alias>",
            field=field,
        )
    return value


def version(value: int, field: str = "version") -> int:
    if value <= 0:
        raise InvalidArgument(f"{field} must be a positive integer (got {value})", field=field)
    return value


def alias(value: str, field: str = "alias") -> str:
    if not value:
        raise InvalidArgument(f"{field} must not be empty", field=field)
    if len(value) > MAX_ALIAS:
        raise InvalidArgument(f"{field} exceeds {MAX_ALIAS} characters", field=field)
    if not _ALIAS.fullmatch(value):
        raise InvalidArgument(
            f"{field} {value!r} may only contain letters, digits, '_' and '-'", field=field
        )
    if value.lower() == "latest":
        raise InvalidArgument(f"{field} 'latest' is reserved (models:/<name>/latest)", field=field)
    if _VERSION_LIKE.fullmatch(value):
        raise InvalidArgument(
            f"{field} {value!r} is reserved: it reads as a version number", field=field
        )
    return value


def key(value: str, field: str = "key") -> str:
    return check.key(value, field)


def tag(k: str, v: str) -> tuple[str, str]:
    return key(k), text(v, "value", MAX_TAG_VALUE)


def tags(items: Mapping[str, str], field: str = "tags") -> dict[str, str]:
    return check.tags(items.items(), field, MAX_TAG_VALUE)


def stage(value: str, field: str = "stage") -> str:
    found = STAGES.get(value.lower())
    if found is None:
        valid = ", ".join(STAGES.values())
        raise InvalidArgument(f"{field} {value!r} is not one of {valid}", field=field)
    return found


def max_results(value: int, kind: str) -> int:
    return check.max_results(value, MAX_SEARCH[kind], DEFAULT_SEARCH[kind])


def actor(value: str) -> str:
    return value[:MAX_ACTOR] if value else "unknown"


@dataclass(frozen=True)
class Source:
    """A version's source: the URI as given and, for runs:/, the run and path in it."""

    uri: str
    run_id: uuid.UUID | None
    path: str  # inside the run's artifacts, for runs:/ sources


def source(value: str, field: str = "source") -> Source:
    if not value:
        raise InvalidArgument(f"{field} must not be empty", field=field)
    text(value, field, MAX_URI)
    if value.startswith("models:"):
        raise InvalidArgument(
            f"{field} {value!r}: register from the run or artifact URI, not a models:/ URI",
            field=field,
        )
    if not value.startswith("runs:"):
        return Source(value, None, "")
    rest = value.removeprefix("runs:").lstrip("/")
    run_part, _, path = rest.partition("/")
    parsed = parse_hex_id(run_part)
    if parsed is None:
        raise InvalidArgument(
            f"{field} {value!r} must look like runs:/<32-hex run id>/<path>", field=field
        )
    clean = "/".join(p for p in path.split("/") if p not in ("", "."))
    if ".." in clean.split("/"):
        raise InvalidArgument(f"{field} {value!r} may not contain '..'", field=field)
    return Source(value, parsed, clean)


def signature(sig: pb.ModelSignature) -> pb.ModelSignature:
    for part in ("inputs", "outputs", "params"):
        text(getattr(sig, part), f"signature.{part}", MAX_SCHEMA)
    return sig


def flavor(value: str) -> str:
    if value and not _FLAVOR.fullmatch(value):
        raise InvalidArgument(
            f"flavor {value!r} must be a lowercase identifier such as 'sklearn'", field="flavor"
        )
    return value


def content_digest(value: str) -> str:
    if value and not _DIGEST.fullmatch(value):
        raise InvalidArgument(
            f"content_digest {value!r} must read '<algorithm>:<hex>', e.g. 'sha256:9f86d0...'",
            field="content_digest",
        )
    return value
