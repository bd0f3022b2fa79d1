"""Serving models: deployments on the inference gateway, and predictions from them.

    dep = sy.deploy("models:/fraud@champion", max_replicas=4, wait=True)
    y = sy.predict("fraud", X)

See `deployments` (sy.deploy, the `Deployment` handle, get/list), `status`
(what a deployment reports), `specs` (deploy's arguments checked into a
DeploymentSpec) and `predictions` (sy.predict: OIP gRPC, numpy / pandas in,
numpy out).
"""

from switchyard.sdk.serving.deployments import Deployment, deploy, get_deployment, list_deployments
from switchyard.sdk.serving.predictions import predict
from switchyard.sdk.serving.status import Canary, ReplicaInfo, Revision

__all__ = [
    "Canary",
    "Deployment",
    "ReplicaInfo",
    "Revision",
    "deploy",
    "get_deployment",
    "list_deployments",
    "predict",
]
