"""Typed settings, read once from `SWITCHYARD_*` environment variables.

Nothing else in the package reads the environment: a process builds one
`Settings` at start and passes it down. Tests build their own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# A service's own ports are in its spec (switchyard.core.service_spec).
DEFAULT_NATS_PORT = 7622
DEFAULT_POSTGRES_PORT = 7632
# In the platform's home: its admin token, written by `switchyard up` (0600).
TOKEN_FILE = "token"


class Settings(BaseSettings):
    """Everything a Switchyard process may be told from outside."""

    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_", frozen=True, extra="ignore")

    home: Path = Path(".switchyard")
    # Isolates one platform from another on a shared NATS and PostgreSQL:
    # prefixes NATS subjects and stream names and the services' schemas.
    namespace: str = Field(default="", pattern=r"^[a-z0-9_]*$")

    # infrastructure
    database_url: str | None = None
    nats_url: str | None = None
    db_pool_min: int = 1
    db_pool_max: int = 10
    events_max_age_days: float = 7.0
    events_replicas: int = 1

    # this process's listeners (the runner fills per-service defaults)
    host: str = "127.0.0.1"
    grpc_port: int | None = None
    http_port: int | None = None
    web_port: int | None = None  # the web edge's REST port (None: DEFAULT_WEB_PORT)
    gateway_port: int | None = None  # the gateway's OIP REST port
    inference_port: int | None = None  # the gateway's OIP gRPC port
    drain_seconds: float = 10.0
    # /metrics to every address (a Prometheus in the cluster); else loopback only
    metrics_public: bool = False
    # the most a stop may take, drain included: past it the process exits
    # (status 1) with whatever is still closing, as a kubelet's SIGKILL would;
    # nothing kills a service for us when its parent `up` was SIGKILLed.
    stop_deadline_seconds: float = 25.0
    # the address other machines reach this worker at (a gang's MASTER_ADDR);
    # unset: the hostname when listening on all interfaces, else 127.0.0.1.
    # In Kubernetes set it to the pod IP: pod names do not resolve.
    advertise_host: str | None = None

    # artifacts: a local folder by default, S3/MinIO when an endpoint is set
    artifact_root: str | None = None
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str | None = None
    s3_secure: bool = False
    s3_bucket: str = "switchyard"

    # how clients find services: one address in front of all (an ingress),
    # or one per service (SWITCHYARD_<SERVICE>_ADDRESS, keyed by the
    # lower-case <SERVICE>: "tracking", "inference_gateway"); else
    # $SWITCHYARD_HOME/endpoints.json
    address: str | None = None
    addresses: dict[str, str] = Field(default_factory=dict)
    # Authentication (switchyard.core.auth): on unless the platform was started
    # with `switchyard up --insecure`. A client's token: this, else the file
    # `token` in the platform's home (written by `up`, mode 0600).
    auth: bool = True
    token: str | None = Field(default=None, repr=False)
    # OIDC access tokens (switchyard.core.oidc) beside the platform's own:
    # the issuer turns them on; the role and project come from these claims.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None  # default: <issuer>/.well-known/jwks.json
    oidc_role_claim: str = "switchyard_role"
    oidc_project_claim: str = "switchyard_project"
    # Transport security (switchyard.core.tls). A process's certificate and
    # key are its identity: it serves gRPC, HTTP and NATS with them and shows
    # them as its client certificate when it calls a service. The CA verifies
    # peers (SWITCHYARD_TLS_CA_FILE is its older name). A client uses TLS when
    # `tls` is set, or a CA or certificate is given, or the address is :443.
    tls: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "tls_ca", "tls_ca_file", "SWITCHYARD_TLS_CA", "SWITCHYARD_TLS_CA_FILE"
        ),
    )
    # servers ask every gRPC and NATS client for a certificate signed by the CA
    tls_client_auth: bool = False
    # set by a trainer-worker for the job it runs: the fluent API logs there
    run_id: str | None = None
    experiment_id: str | None = None
    # the fluent API pipelines run writes (`synchronous=False` by default), as
    # MLflow's MLFLOW_ENABLE_ASYNC_LOGGING does: `sy.flush()` acknowledges them
    async_logging: bool = False

    # a trainer-worker (`switchyard worker` sets these from its flags)
    worker_pool: str = "default"
    worker_cpus: float | None = None  # None: all of the machine's
    worker_gpus: int | None = None  # None: what nvidia-smi lists
    worker_memory_mb: int | None = None
    worker_grace_s: float = 10.0  # between SIGTERM and SIGKILL of a job

    # tests: "1" starts PostgreSQL and NATS with testcontainers when Docker is there
    test_containers: bool = False

    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern=r"^(json|console)$")
    otlp_endpoint: str | None = Field(default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    # A job's process runs inside its submitter's trace: the worker sets the
    # W3C context here (the environment-variable carrier OpenTelemetry uses),
    # and the SDK's calls carry it when no span of the process is active.
    traceparent: str | None = Field(default=None, validation_alias="TRACEPARENT")
    tracestate: str | None = Field(default=None, validation_alias="TRACESTATE")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _ServiceAddresses(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    def address_for(self, env_name: str) -> str | None:
        """`SWITCHYARD_<ENV_NAME>_ADDRESS`, if set."""
        return self.addresses.get(env_name.lower())

    @property
    def endpoints_file(self) -> Path:
        return self.home / "endpoints.json"

    def schema_for(self, service: str) -> str:
        return f"{self.namespace}_{service}" if self.namespace else service

    def default_artifact_root(self) -> str:
        if self.artifact_root:
            return self.artifact_root
        if self.s3_endpoint:
            return f"s3://{self.s3_bucket}/artifacts"
        return (self.home / "artifacts").resolve().as_uri()


class _ServiceAddresses(PydanticBaseSettingsSource):
    """`SWITCHYARD_<SERVICE>_ADDRESS` for every service, whichever exist:
    the names come from the service specs, which settings do not import."""

    _PREFIX, _SUFFIX = "SWITCHYARD_", "_ADDRESS"

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {
            key[len(self._PREFIX) : -len(self._SUFFIX)].lower(): value
            for key, value in os.environ.items()
            if key.startswith(self._PREFIX)
            and key.endswith(self._SUFFIX)
            and len(key) > len(self._PREFIX) + len(self._SUFFIX)
        }
        return {"addresses": found} if found else {}
