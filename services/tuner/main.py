"""Builds the tuner service from settings; the shared runner runs it."""

from __future__ import annotations

from switchyard.core.config import Settings
from switchyard.core.runner import Runtime, run
from switchyard.core.sampling import on_scrape
from switchyard.core.scheduler_client import Scheduler
from switchyard.proto.v1 import tuner_pb2_grpc
from switchyard.services.tuner import metrics
from switchyard.services.tuner.claims import Claims
from switchyard.services.tuner.driver import Driver
from switchyard.services.tuner.events import Follower
from switchyard.services.tuner.queue_store import QueueStore
from switchyard.services.tuner.report_store import ReportStore
from switchyard.services.tuner.runners import RunnerPool
from switchyard.services.tuner.service import TunerServicer
from switchyard.services.tuner.spec import SPEC
from switchyard.services.tuner.store import TunerStore
from switchyard.services.tuner.tracking import Tracking
from switchyard.services.tuner.trials import Launcher


async def setup(runtime: Runtime) -> None:
    store = TunerStore(runtime.db, runtime.outbox)
    tracking = Tracking(runtime.settings)
    scheduler = Scheduler(runtime.settings)
    runtime.stack.push_async_callback(tracking.close)
    runtime.stack.push_async_callback(scheduler.close)
    queue = QueueStore(runtime.db, runtime.outbox, store)
    launcher = Launcher(store, scheduler, tracking)
    claims = Claims(queue, store, tracking)
    driver = Driver(runtime.db, store, launcher, RunnerPool(queue, launcher, claims.notify))
    reports = ReportStore(runtime.db, runtime.outbox, store, queue)
    await Follower(reports, driver.wake).start(runtime.bus)
    tuner_pb2_grpc.add_TunerServiceServicer_to_server(
        TunerServicer(store, tracking, driver, claims), runtime.server
    )
    runtime.background(driver.run(), "tuner-driver")
    runtime.stack.callback(on_scrape(lambda: metrics.sample(store), "tuner"))


def main(settings: Settings | None = None) -> None:
    run(SPEC, settings)


if __name__ == "__main__":
    main()
