"""The inference gateway, declared once (see switchyard.core.service_spec).

Its gRPC port is the control plane (InferenceGatewayService); the data
plane is the Open Inference Protocol on two listeners of its own: REST
(`http.gateway` in endpoints.json) and gRPC (`grpc.inference`).
"""

from switchyard.core.service_spec import Listener, ServiceSpec

SPEC = ServiceSpec(
    name="gateway",
    title="inference gateway",
    grpc_port=7605,
    http_port=7615,
    setup="switchyard.services.inference_gateway.main:setup",
    grpc_services=("switchyard.v1.InferenceGatewayService",),
    migrations="switchyard.services.inference_gateway",
    listeners=(
        Listener("gateway", 7606, "gateway_port", title="Open Inference Protocol, REST"),
        Listener(
            "inference", 7607, "inference_port", kind="grpc", title="Open Inference Protocol, gRPC"
        ),
    ),
    calls=("scheduler", "registry"),
)
