"""The web edge, declared once (see switchyard.core.service_spec).

It owns no tables and publishes no events: no database, bus or outbox.
Its gRPC port serves health only; its work is the web UI and the MLflow REST API.
"""

from switchyard.core.service_spec import Listener, ServiceSpec

SPEC = ServiceSpec(
    name="web",
    title="web",
    grpc_port=7609,
    http_port=7610,
    setup="switchyard.services.web.main:setup",
    needs=frozenset(),
    listeners=(Listener("web", 7600, "web_port", title="web UI and MLflow REST API"),),
    calls=("tracking", "registry"),
)
