"""The tracking service, declared once (see switchyard.core.service_spec)."""

from switchyard.core.service_spec import ServiceSpec

SPEC = ServiceSpec(
    name="tracking",
    title="tracking",
    grpc_port=7601,
    http_port=7611,
    setup="switchyard.services.tracking.main:setup",
    grpc_services=("switchyard.v1.TrackingService", "switchyard.v1.AccessService"),
    migrations="switchyard.services.tracking",
)
