"""Typed settings, read once from `SWITCHYARD_*` environment variables.

Nothing else in the package reads the environment: a process builds one
`Settings` at start and passes it down. Tests build their own.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORTS = {
    # gRPC, HTTP (health + metrics); documented in the README.
    "tracking": (7601, 7611),
    "registry": (7602, 7612),
    "scheduler": (7603, 7613),
    # the web edge's gRPC port serves only health; its REST API is on DEFAULT_WEB_PORT
    "web": (7609, 7610),
}
DEFAULT_WEB_PORT = 7600  # the web edge's MLflow-compatible REST API
DEFAULT_NATS_PORT = 7622
DEFAULT_POSTGRES_PORT = 7632


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
    drain_seconds: float = 10.0
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
    # or one per service; else $SWITCHYARD_HOME/endpoints.json
    address: str | None = None
    tracking_address: str | None = None
    registry_address: str | None = None
    scheduler_address: str | None = None
    # TLS to the services (an ingress on :443); otherwise plaintext
    tls: bool = False
    tls_ca_file: Path | None = None
    # set by a trainer-worker for the job it runs: the fluent API logs there
    run_id: str | None = None
    experiment_id: str | None = None

    # tests: "1" starts PostgreSQL and NATS with testcontainers when Docker is there
    test_containers: bool = False

    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern=r"^(json|console)$")
    otlp_endpoint: str | None = Field(default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")

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
