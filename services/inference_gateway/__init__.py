"""The inference gateway: deployments of registered models, served over the Open
Inference Protocol by replicas that run as scheduler jobs."""
