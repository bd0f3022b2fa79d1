"""One trace from an SDK call through the service into an event consumer."""

from __future__ import annotations

import threading

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import switchyard as sy
from switchyard.core.config import Settings
from switchyard.core.telemetry import setup_tracing


def test_trace_context_crosses_grpc_and_nats(switchyard_settings: Settings) -> None:
    exporter = InMemorySpanExporter()
    setup_tracing("test", None).add_span_processor(SimpleSpanProcessor(exporter))
    got: list[sy.Event] = []
    arrived = threading.Event()

    def handler(event: sy.Event) -> None:
        if event.type == "sy.tracking.experiment.created":
            got.append(event)
            arrived.set()

    with (
        sy.subscribe("sy.tracking.experiment.>", handler, settings=switchyard_settings),
        sy.Client(settings=switchyard_settings) as client,
    ):
        with trace.get_tracer("test").start_as_current_span("user action") as root:
            client.create_experiment(f"traced-{root.get_span_context().span_id:x}")
        assert arrived.wait(10)

    trace_id = f"{root.get_span_context().trace_id:032x}"
    assert got[0].traceparent.split("-")[1] == trace_id  # in the NATS headers
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind == trace.SpanKind.SERVER and "CreateExperiment" in s.name]
    consumer = [s for s in spans if s.kind == trace.SpanKind.CONSUMER]
    assert server and server[0].context.trace_id == root.get_span_context().trace_id
    assert any(s.context.trace_id == root.get_span_context().trace_id for s in consumer)
