"""`sy.pipelines`: DAGs of job steps, run by the scheduler.

    run = sy.pipelines.run(pipe)
    sy.pipelines.get(run.id).wait()
    running = sy.pipelines.list(state="RUNNING")
    sy.pipelines.cancel(run.id).wait()    # CANCELLED once its steps stopped

`run` and `get` are `sy.run_pipeline` and `sy.get_pipeline`; the async twins
are `sy.AsyncJobsClient`'s `list_pipelines` and `cancel_pipeline`.
"""

from switchyard.sdk.scheduler_pipelines import AsyncPipelineRun, Pipeline, PipelineRun, step
from switchyard.sdk.scheduler_pipelines import cancel_pipeline as cancel
from switchyard.sdk.scheduler_pipelines import get_pipeline as get
from switchyard.sdk.scheduler_pipelines import list_pipelines as list
from switchyard.sdk.scheduler_pipelines import run_pipeline as run

__all__ = [
    "AsyncPipelineRun",
    "Pipeline",
    "PipelineRun",
    "cancel",
    "get",
    "list",
    "run",
    "step",
]
