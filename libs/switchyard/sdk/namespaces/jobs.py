"""`sy.jobs`: submit, find, follow and cancel jobs; create and manage queues.

    job = sy.jobs.submit(["python", "train.py"], gpus=1, experiment="fraud")
    sy.jobs.get(job.id).wait()
    running = sy.jobs.list(states=["RUNNING"])
    sy.jobs.cancel(job.id)
    again = sy.jobs.rerun(job.id, env={"SEED": "2"})  # same code, one parameter changed

    sy.jobs.create_queue("research", max_gpus=8, max_memory="256G", max_jobs=20)
    sy.jobs.pause_queue("research")   # admits nothing more; nothing is cancelled
    print(sy.jobs.get_queue("research").queued_jobs)

`submit`, `get` and `list` are `sy.submit_job`, `sy.get_job` and
`sy.list_jobs`, on the process's `JobsClient` (made on first use); the
queue calls use the same client.
"""

from switchyard.sdk.jobs import (
    UNCHANGED,
    AsyncJob,
    AsyncJobsClient,
    Job,
    JobsClient,
    Queue,
    create_queue,
    delete_queue,
    get_queue,
    list_queues,
    pause_queue,
    rerun,
    resume_queue,
    update_queue,
)
from switchyard.sdk.jobs import cancel_job as cancel
from switchyard.sdk.jobs import get_job as get
from switchyard.sdk.jobs import list_jobs as list
from switchyard.sdk.jobs import submit_job as submit

__all__ = [
    "UNCHANGED",
    "AsyncJob",
    "AsyncJobsClient",
    "Job",
    "JobsClient",
    "Queue",
    "cancel",
    "create_queue",
    "delete_queue",
    "get",
    "get_queue",
    "list",
    "list_queues",
    "pause_queue",
    "rerun",
    "resume_queue",
    "submit",
    "update_queue",
]
