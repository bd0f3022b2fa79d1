"""The trainer-worker, declared once (see switchyard.core.service_spec).

Not a service `switchyard up` starts per platform but a process that joins
a pool (`switchyard worker --pool NAME`), on the same runner: logging,
tracing and a probe port like every service. It serves no gRPC and keeps
asyncio's loop (it starts job processes; see `runner._run_loop`).
"""

from switchyard.core.service_spec import ServiceSpec

SPEC = ServiceSpec(
    name="trainer-worker",
    title="trainer-worker",
    grpc_port=None,
    http_port=7614,
    setup="switchyard.services.trainer_worker.main:setup",
    needs=frozenset(),
    calls=("scheduler", "tracking"),
    uvloop=False,
    role="worker",
)
