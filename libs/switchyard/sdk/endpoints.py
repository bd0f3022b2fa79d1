"""Finding the platform: explicit address, env settings, or `endpoints.json`.

Order: an address passed to the client; `SWITCHYARD_<SERVICE>_ADDRESS`;
`SWITCHYARD_ADDRESS` (one address in front of every service, as an ingress
gives); the `endpoints.json` that `switchyard up` wrote, found as git finds
`.git`: in `$SWITCHYARD_HOME` when that is set, else in `.switchyard/` of
the working folder or the nearest parent that has one. The services are
those of the specs (`switchyard.core.service_spec`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchyard.core.config import TOKEN_FILE, Settings
from switchyard.core.service_spec import catalog, client_services
from switchyard.core.tls import ClientTls


@dataclass(frozen=True)
class Endpoints:
    grpc: dict[str, str] = field(default_factory=dict)
    http: dict[str, str] = field(default_factory=dict)
    nats: str | None = None
    database: str | None = None
    namespace: str = ""
    artifact_root: str | None = None
    s3: dict[str, Any] | None = None
    # how clients reach the services, NATS and HTTPS: {"ca", "cert", "key"}
    # paths (switchyard.core.tls.ClientTls); None: plaintext
    tls: dict[str, Any] | None = None
    # where discovery looked for endpoints.json, for the error when none was found
    looked: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def address(self, service: str) -> str:
        try:
            return self.grpc[service]
        except KeyError:
            from switchyard.errors import Unavailable  # imports grpc: only when needed

            where = f" (looked for {', '.join(self.looked)})" if self.looked else ""
            raise Unavailable(
                f"no address for the {service} service: no running platform found{where}."
                " Start one with `switchyard up`, or set SWITCHYARD_HOME to its folder,"
                " or SWITCHYARD_ADDRESS to a gRPC address in front of it"
            ) from None

    @property
    def client_tls(self) -> ClientTls | None:
        return ClientTls.from_dict(self.tls)

    def to_json(self) -> str:
        data = {k: v for k, v in self.__dict__.items() if k != "looked"}
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def read(cls, path: Path) -> Endpoints:
        raw = json.loads(path.read_text())
        fields = set(cls.__dataclass_fields__) - {"looked"}
        return cls(**{k: v for k, v in raw.items() if k in fields})


def find_in_home(settings: Settings, name: str) -> tuple[Path | None, list[Path]]:
    """`name` in the platform's home, and every place looked at (in order).

    An explicit home (`SWITCHYARD_HOME`, or `Settings(home=...)`) is the only
    place looked at; otherwise `.switchyard/<name>` in the working folder,
    then in each parent, so a subfolder of a project finds the platform
    started at its root (as git finds `.git`).
    """
    if "home" in settings.model_fields_set or settings.home.is_absolute():
        path = settings.home / name
        return (path if path.exists() else None), [path]
    looked = []
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        path = folder / settings.home / name
        looked.append(path)
        if path.exists():
            return path, looked
    return None, looked


def find_token(settings: Settings) -> str | None:
    """The caller's API token: `SWITCHYARD_TOKEN`, else the `token` file that
    `switchyard up` wrote in the platform's home (found as endpoints.json is)."""
    if settings.token:
        return settings.token
    path, _ = find_in_home(settings, TOKEN_FILE)
    if path is None:
        return None
    try:
        return path.read_text().strip() or None
    except OSError:  # another user's home: its token is not ours to read
        return None


def find_endpoints_file(settings: Settings) -> tuple[Path | None, list[Path]]:
    """The endpoints.json to read, and every place looked at (see `find_in_home`)."""
    return find_in_home(settings, "endpoints.json")


def discover(settings: Settings) -> Endpoints:
    path, looked = find_endpoints_file(settings)
    found = Endpoints.read(path) if path is not None else Endpoints()
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
    # The settings' TLS wins over the platform's (a service is told by env).
    from_settings = ClientTls.of(settings)
    tls = from_settings.to_dict() if from_settings is not None else found.tls
    return Endpoints(
        grpc=grpc,
        http=found.http,
        nats=settings.nats_url or found.nats,
        database=found.database,
        namespace=settings.namespace or found.namespace,
        artifact_root=settings.artifact_root or found.artifact_root,
        s3=s3,
        tls=tls,
        looked=() if path is not None else tuple(str(p) for p in looked),
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
