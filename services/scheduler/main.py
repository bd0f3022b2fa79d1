"""Builds the scheduler service from settings; the shared runner runs it."""

from __future__ import annotations

from switchyard.core.config import Settings
from switchyard.core.runner import Runtime, run
from switchyard.core.sampling import on_scrape
from switchyard.proto.v1 import scheduler_pb2_grpc
from switchyard.services.scheduler import metrics
from switchyard.services.scheduler.admission_store import AdmissionStore
from switchyard.services.scheduler.dispatch import Dispatcher
from switchyard.services.scheduler.metrics_store import MetricsStore
from switchyard.services.scheduler.pipeline_store import PipelineStore
from switchyard.services.scheduler.queue_store import QueueStore
from switchyard.services.scheduler.report_store import ReportStore
from switchyard.services.scheduler.service import SchedulerServicer
from switchyard.services.scheduler.spec import SPEC
from switchyard.services.scheduler.store import SchedulerStore
from switchyard.services.scheduler.worker_store import WorkerStore


async def setup(runtime: Runtime) -> None:
    queues = QueueStore(runtime.db, runtime.outbox)
    store = SchedulerStore(runtime.db, runtime.outbox, queues)
    workers = WorkerStore(runtime.db, runtime.outbox)
    pipeline_store = PipelineStore(runtime.db, runtime.outbox, store)
    reports = ReportStore(runtime.db, store)
    dispatch = Dispatcher(AdmissionStore(runtime.db), workers, runtime.bus)
    dispatch.on_workers_lost = reports.workers_lost
    await dispatch.ensure_pool("default")
    scheduler_pb2_grpc.add_SchedulerServiceServicer_to_server(
        SchedulerServicer(store, queues, reports, workers, pipeline_store, dispatch), runtime.server
    )
    runtime.background(dispatch.run(), "scheduler-dispatch")
    gauges = MetricsStore(runtime.db)
    runtime.stack.callback(on_scrape(lambda: metrics.sample(gauges), "scheduler"))


def main(settings: Settings | None = None) -> None:
    run(SPEC, settings)


if __name__ == "__main__":
    main()
