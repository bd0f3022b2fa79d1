"""Studies: the tuner's searches, their trials, history and best trial.

    /studies?state=S                     studies, newest first
    /studies/<study id or name>          a study: summary, best trial, optimisation
                                         history, parallel coordinates, trials table

A running study's page follows `sy.tuner.>` for its id (every tuner event's
subject is the study id) and fetches itself again when something changed
(static/jobs.js), so the server renders every state the page shows.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from switchyard.core.ids import parse_hex_id
from switchyard.errors import NotFound
from switchyard.proto.v1 import tuner_pb2 as pb
from switchyard.sdk.rpcs import tuner as rpc
from switchyard.services.web.backends import Backends
from switchyard.services.web.ui.job_pages import backends
from switchyard.services.web.ui.render import html_errors, page

STUDY_STATES = tuple(
    n.removeprefix("STUDY_") for n in pb.StudyState.keys() if n != "STUDY_STATE_UNSPECIFIED"
)
DEFAULT_ALGORITHM = "tpe"  # what the tuner runs when a spec names none


def study_state(study: pb.Study) -> str:
    return pb.StudyState.Name(study.state).removeprefix("STUDY_")


def trial_state(trial: pb.Trial) -> str:
    return pb.TrialState.Name(trial.state).removeprefix("TRIAL_")


def objectives(study: pb.Study) -> str:
    """`minimize loss, maximize acc`."""
    return ", ".join(
        f"{'maximize' if o.maximize else 'minimize'} {o.metric}" for o in study.spec.objectives
    )


def param_value(raw: str) -> Any:
    """A trial's parameter: a JSON value (as the tuner stores choices); raw if it is not one."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def shown(raw: str) -> str:
    """A parameter as a person reads it: strings without their JSON quotes, floats short."""
    value = param_value(raw)
    if isinstance(value, str):
        return value
    return f"{value:.6g}" if isinstance(value, float) else json.dumps(value)


def finite(value: float) -> float | None:
    return value if math.isfinite(value) else None  # NaN and inf are not JSON


@dataclass(frozen=True)
class History:
    """One objective over the trials: each completed trial's value and the best so far."""

    metric: str
    maximize: bool
    numbers: list[int]
    values: list[float | None]
    best: list[float | None]


def histories(study: pb.Study, trials: list[pb.Trial]) -> list[History]:
    found = []
    completed = [t for t in trials if t.state == pb.TRIAL_COMPLETED]
    for i, objective in enumerate(study.spec.objectives):
        values = [finite(t.values[i]) if len(t.values) > i else None for t in completed]
        best: list[float | None] = []
        for v in values:
            last = best[-1] if best else None
            pick = max if objective.maximize else min
            best.append(v if last is None else last if v is None else pick(last, v))
        numbers = [t.number for t in completed]
        found.append(History(objective.metric, objective.maximize, numbers, values, best))
    return found


def chart_data(study: pb.Study, trials: list[pb.Trial], params: list[str]) -> dict[str, Any]:
    """What the page's script draws: the history charts and parallel coordinates."""
    metrics = [o.metric for o in study.spec.objectives]
    completed = [t for t in trials if t.state == pb.TRIAL_COMPLETED]
    return {
        "histories": [h.__dict__ for h in histories(study, trials)],
        "parallel": {
            "params": params,
            "metrics": metrics,
            "runs": [
                {
                    "name": f"trial {t.number}",
                    "params": {k: param_value(v) for k, v in t.params.items()},
                    "metrics": {
                        m: finite(v)
                        for m, v in zip(metrics, t.values, strict=False)
                        if finite(v) is not None
                    },
                }
                for t in completed
            ],
        },
    }


async def get_study(b: Backends, id_or_name: str) -> pb.Study:
    """By id, or by name (a link a person types); either unknown is the 404 page."""
    if parse_hex_id(id_or_name) is not None:
        ask = pb.GetStudyRequest(study_id=id_or_name.lower())
    elif id_or_name and len(id_or_name) <= 256:
        ask = pb.GetStudyRequest(name=id_or_name)
    else:
        raise NotFound(f"no study {id_or_name!r}", entity="study")
    return (await b.call(rpc.GET_STUDY, ask)).study


@html_errors
async def studies(request: Request) -> Response:
    state = request.query_params.get("state", "")
    ask = pb.ListStudiesRequest(limit=100)
    error = ""
    if state in STUDY_STATES:
        ask.states.append(pb.StudyState.Value(f"STUDY_{state}"))
    elif state:
        error = f"unknown state {state!r}: one of {', '.join(STUDY_STATES)}"
    found = [] if error else list((await backends(request).call(rpc.LIST_STUDIES, ask)).studies)
    return page(
        request,
        "studies.html",
        studies=found,
        states=STUDY_STATES,
        state=state,
        error=error,
        study_state=study_state,
        objectives=objectives,
        default_algorithm=DEFAULT_ALGORITHM,
    )


@html_errors
async def study_page(request: Request) -> Response:
    b = backends(request)
    study = await get_study(b, request.path_params["study"])
    reply = await b.call(rpc.LIST_TRIALS, pb.ListTrialsRequest(study_id=study.study_id))
    trials = list(reply.trials)
    params = sorted({k for t in trials for k in t.params} | {p.name for p in study.spec.params})
    best = study.best_trial if study.HasField("best_trial") else None
    return page(
        request,
        "study.html",
        study=study,
        state=study_state(study),
        objectives=objectives(study),
        algorithm=study.spec.algorithm or DEFAULT_ALGORITHM,
        trials=trials,
        params=params,
        best=best,
        best_numbers={t.number for t in ([best] if best else study.pareto_front)},
        data=chart_data(study, trials, params),
        trial_state=trial_state,
        shown=shown,
    )


ROUTES: list[BaseRoute] = [
    Route("/studies", studies),
    Route("/studies/{study}", study_page),
]
