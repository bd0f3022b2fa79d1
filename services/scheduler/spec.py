"""The scheduler, declared once (see switchyard.core.service_spec)."""

from switchyard.core.service_spec import ServiceSpec

SPEC = ServiceSpec(
    name="scheduler",
    title="scheduler",
    grpc_port=7603,
    http_port=7613,
    setup="switchyard.services.scheduler.main:setup",
    grpc_services=("switchyard.v1.SchedulerService",),
    migrations="switchyard.services.scheduler",
)
