"""Finding the platform: explicit address, env settings, or `endpoints.json`.

Order: an address passed to the client; `SWITCHYARD_<SERVICE>_ADDRESS`;
`SWITCHYARD_ADDRESS` (one address in front of every service, as an ingress
gives); `$SWITCHYARD_HOME/endpoints.json`, written by `switchyard up`. The
services are those of the specs (`switchyard.core.service_spec`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchyard.core.config import Settings
from switchyard.core.service_spec import catalog, client_services
from switchyard.errors import Unavailable


@dataclass(frozen=True)
class Endpoints:
    grpc: dict[str, str] = field(default_factory=dict)
    http: dict[str, str] = field(default_factory=dict)
    nats: str | None = None
    database: str | None = None
    namespace: str = ""
    artifact_root: str | None = None
    s3: dict[str, Any] | None = None

    def address(self, service: str) -> str:
        try:
            return self.grpc[service]
        except KeyError:
            raise Unavailable(
                f"no address for the {service} service: start the platform with `switchyard up`,"
                " or set SWITCHYARD_ADDRESS"
            ) from None

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True)

    @classmethod
    def read(cls, path: Path) -> Endpoints:
        raw = json.loads(path.read_text())
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})


def discover(settings: Settings) -> Endpoints:
    found = Endpoints()
    if settings.endpoints_file.exists():
        found = Endpoints.read(settings.endpoints_file)
    grpc = dict(found.grpc)
    if settings.address:  # one ingress routes every gRPC service by its name
        grpc = {spec.name: settings.address for spec in client_services()}
    for spec in catalog().values():
        address = settings.address_for(spec.env_name)
        if address:
            grpc[spec.name] = address
    s3 = found.s3
    if settings.s3_endpoint:
        s3 = {
            "endpoint": settings.s3_endpoint,
            "access_key": settings.s3_access_key,
            "secret_key": settings.s3_secret_key,
            "region": settings.s3_region,
            "secure": settings.s3_secure,
        }
    return Endpoints(
        grpc=grpc,
        http=found.http,
        nats=settings.nats_url or found.nats,
        database=found.database,
        namespace=settings.namespace or found.namespace,
        artifact_root=settings.artifact_root or found.artifact_root,
        s3=s3,
    )


def settings_for_artifacts(settings: Settings, endpoints: Endpoints) -> Settings:
    """Settings whose S3 fields come from the platform when env set none."""
    if settings.s3_endpoint or not endpoints.s3:
        return settings
    s3 = endpoints.s3
    return settings.model_copy(
        update={
            "s3_endpoint": s3.get("endpoint"),
            "s3_access_key": s3.get("access_key"),
            "s3_secret_key": s3.get("secret_key"),
            "s3_region": s3.get("region"),
            "s3_secure": bool(s3.get("secure")),
        }
    )
