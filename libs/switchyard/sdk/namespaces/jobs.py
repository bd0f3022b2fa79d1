"""`sy.jobs`: submit, find, follow and cancel jobs.

    job = sy.jobs.submit(["python", "train.py"], gpus=1, experiment="fraud")
    sy.jobs.get(job.id).wait()
    running = sy.jobs.list(states=["RUNNING"])
    sy.jobs.cancel(job.id)

`submit`, `get` and `list` are `sy.submit_job`, `sy.get_job` and
`sy.list_jobs`, on the process's `JobsClient` (made on first use).
"""

from switchyard.sdk.jobs import AsyncJob, AsyncJobsClient, Job, JobsClient
from switchyard.sdk.jobs import cancel_job as cancel
from switchyard.sdk.jobs import get_job as get
from switchyard.sdk.jobs import list_jobs as list
from switchyard.sdk.jobs import submit_job as submit

__all__ = ["AsyncJob", "AsyncJobsClient", "Job", "JobsClient", "cancel", "get", "list", "submit"]
