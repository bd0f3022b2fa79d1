"""Model URIs to the exact version a revision serves, through the registry.

A deployment names a model the way users do (`models:/fraud@champion`);
its replicas load one fixed version (`models:/fraud/7`), so a replica
restarted later never picks up whatever the alias names by then: moving
an alias is a rollout (see events.py), not a side effect of a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.core.config import Settings
from switchyard.core.peers import Peer
from switchyard.errors import InvalidArgument, NotFound
from switchyard.sdk.async_client import AsyncClient

REGISTRY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Resolved:
    uri: str  # what replicas load
    model_name: str = ""  # "" for runs:/
    model_version: str = ""


def alias_of(uri: str) -> tuple[str, str] | None:
    """(model name, alias) of models:/name@alias; None for any other URI."""
    rest = uri.removeprefix("models:").lstrip("/")
    if not uri.startswith("models:") or "@" not in rest:
        return None
    name, _, alias = rest.partition("@")
    return name, alias


class Models(Peer[AsyncClient]):
    """`close()` is idempotent."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(lambda: AsyncClient(settings=settings, timeout=REGISTRY_TIMEOUT_S))
        self.settings = settings

    async def resolve(self, uri: str, field: str = "spec.model_uri") -> Resolved:
        if uri.startswith("runs:"):
            return Resolved(uri)
        if not uri.startswith("models:"):
            raise InvalidArgument(f"model URI {uri!r} is not models:/ or runs:/", field=field)
        client = await self.client()
        found = alias_of(uri)
        if found is not None:
            version = await client.get_model_version_by_alias(*found)
        else:
            name, _, selector = uri.removeprefix("models:").strip("/").rpartition("/")
            if selector.isdigit():
                version = await client.get_model_version(name, int(selector))
            else:
                latest = await client.get_latest_versions(
                    name, None if selector == "latest" else [selector]
                )
                if not latest:
                    raise NotFound(
                        f"registered model '{name}' has no version in {selector}",
                        entity="model",
                        field=field,
                    )
                version = max(latest, key=lambda v: v.version)
        return Resolved(
            f"models:/{version.name}/{version.version}", version.name, str(version.version)
        )
