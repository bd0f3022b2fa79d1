"""The model registry, declared once (see switchyard.core.service_spec)."""

from switchyard.core.service_spec import ServiceSpec

SPEC = ServiceSpec(
    name="registry",
    title="registry",
    grpc_port=7602,
    http_port=7612,
    setup="switchyard.services.registry.main:setup",
    grpc_services=("switchyard.v1.RegistryService",),
    migrations="switchyard.services.registry",
    calls=("tracking",),  # lineage: a version's source run
)
