"""Model URIs to the place their files are, through the registry or tracking.

models:/<name>@<alias>     the version the alias names
models:/<name>/<version>   that version
models:/<name>/latest      the newest version
models:/<name>/<stage>     the newest version in Staging, Production, ...
runs:/<run_id>/<path>      a folder in a run's artifacts
file://..., s3://..., /a   an artifact location as it is
"""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.errors import InvalidArgument, NotFound
from switchyard.sdk.client import Client
from switchyard.sdk.registry_entities import ModelVersion


@dataclass(frozen=True)
class Location:
    uri: str  # where the model folder is
    content_digest: str | None  # what the registry recorded, to check the files against
    version: ModelVersion | None


def _bad(uri: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"model URI {uri!r}: {why}", field="model_uri")


def run_artifact(client: Client, uri: str) -> str:
    """The artifact location behind runs:/<run_id>/<path>."""
    run_id, _, path = uri.removeprefix("runs:").lstrip("/").partition("/")
    if not run_id:
        raise _bad(uri, "expected runs:/<run_id>/<path>")
    root = client.get_run(run_id).info.artifact_uri.rstrip("/")
    path = path.strip("/")
    return f"{root}/{path}" if path else root


def _registered(client: Client, uri: str) -> ModelVersion:
    rest = uri.removeprefix("models:").lstrip("/")
    if "@" in rest:
        name, _, alias = rest.partition("@")
        if not name or not alias:
            raise _bad(uri, "expected models:/<name>@<alias>")
        return client.get_model_version_by_alias(name, alias)
    name, _, selector = rest.rstrip("/").rpartition("/")
    if not name or not selector:
        raise _bad(uri, "expected models:/<name>/<version>, /latest, /<stage> or @<alias>")
    if selector.isdigit():
        return client.get_model_version(name, int(selector))
    latest = client.get_latest_versions(name, None if selector == "latest" else [selector])
    if not latest:
        raise NotFound(f"registered model '{name}' has no version in {selector}", entity="model")
    return max(latest, key=lambda v: v.version)


def resolve(client: Client, uri: str) -> Location:
    if uri.startswith("models:"):
        version = _registered(client, uri)
        return Location(version.storage_location, version.content_digest, version)
    if uri.startswith("runs:"):
        return Location(run_artifact(client, uri), None, None)
    return Location(uri, None, None)
