"""The names of run states, lifecycle stages and views, in proto and in SQL."""

from __future__ import annotations

from typing import Any

from switchyard.proto.v1 import common_pb2 as cpb
from switchyard.proto.v1 import tracking_pb2 as pb

STATUS_NAMES: dict[Any, str] = {
    pb.RUN_STATUS_RUNNING: "RUNNING",
    pb.RUN_STATUS_SCHEDULED: "SCHEDULED",
    pb.RUN_STATUS_FINISHED: "FINISHED",
    pb.RUN_STATUS_FAILED: "FAILED",
    pb.RUN_STATUS_KILLED: "KILLED",
}
STATUS_VALUES = {v: k for k, v in STATUS_NAMES.items()}
TERMINAL = {"FINISHED", "FAILED", "KILLED"}
STAGES: dict[str, Any] = {
    "active": cpb.LIFECYCLE_STAGE_ACTIVE,
    "deleted": cpb.LIFECYCLE_STAGE_DELETED,
}
VIEWS: dict[int, str] = {
    cpb.VIEW_TYPE_UNSPECIFIED: "active",
    cpb.VIEW_TYPE_ACTIVE_ONLY: "active",
    cpb.VIEW_TYPE_DELETED_ONLY: "deleted",
    cpb.VIEW_TYPE_ALL: "all",
}
DEFAULT_EXPERIMENT = "Default"
PARENT_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"
