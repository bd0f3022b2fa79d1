"""The tuner, declared once (see switchyard.core.service_spec)."""

from switchyard.core.service_spec import ServiceSpec

SPEC = ServiceSpec(
    name="tuner",
    title="tuner",
    grpc_port=7604,
    http_port=7616,
    setup="switchyard.services.tuner.main:setup",
    grpc_services=("switchyard.v1.TunerService",),
    migrations="switchyard.services.tuner",
    calls=("scheduler", "tracking"),
)
