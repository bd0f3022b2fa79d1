"""`sy.pipelines`: DAGs of job steps, run by the scheduler.

    run = sy.pipelines.run(pipe)
    sy.pipelines.get(run.id).wait()

`run` and `get` are `sy.run_pipeline` and `sy.get_pipeline`.
"""

from switchyard.sdk.scheduler_pipelines import AsyncPipelineRun, Pipeline, PipelineRun, step
from switchyard.sdk.scheduler_pipelines import get_pipeline as get
from switchyard.sdk.scheduler_pipelines import run_pipeline as run

__all__ = ["AsyncPipelineRun", "Pipeline", "PipelineRun", "get", "run", "step"]
