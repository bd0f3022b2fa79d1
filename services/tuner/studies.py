"""Creating a study: validated, named, given its tracking run, then stored.

Everything is checked before anything is written; the study's run (the
parent of its trials' runs) is made in its experiment just before the
study row, which the driver loop then picks up.
"""

from __future__ import annotations

import secrets

from switchyard.core.ids import uuid7
from switchyard.errors import AlreadyExists
from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.services.tuner import validation
from switchyard.services.tuner.store import TunerStore
from switchyard.services.tuner.tracking import Tracking


async def create(store: TunerStore, tracking: Tracking, raw: pb.StudySpec) -> pb.Study:
    spec, _ = validation.study_spec(raw)
    if not spec.name:
        spec.name = f"study-{secrets.token_hex(4)}"
    if await store.name_taken(spec.name):
        raise AlreadyExists(
            f"study '{spec.name}' already exists", entity="study", field="spec.name"
        )
    study_id = uuid7()
    experiment_id = await tracking.experiment_id(spec.experiment)
    run_id = await tracking.study_run(experiment_id, study_id.hex, spec.name)
    return await store.create_study(study_id, spec, run_id, experiment_id)
