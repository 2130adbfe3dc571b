"""``POST /feedback``: ground truth for logged predictions, from holders of the write token.

Labels are checked against the served model (a class of a classifier; a finite number within
the plausible range of a regression model) and appended to the feedback store
(:mod:`framework.serving.feedback`): written once, corrected only by new attributed records.
A batch is stored whole or not at all: a malformed item is a 422 naming it, a second label for
a labelled request (without ``"correction": true``) a 409 naming it; unknown request ids are
reported and skipped, as before.
"""

from __future__ import annotations

import sqlite3

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from framework.errors import BucleError
from framework.serving.feedback import record_labels
from framework.serving.http import json_response, read_body
from framework.serving.state import State, WritePrincipal
from framework.serving.validation import (
    RequestError,
    conflict_error,
    feedback_items,
    label_bounds,
    parse_json,
)

router = APIRouter()


@router.post("/feedback")
async def feedback(
    request: Request,
    state: State,
    principal: WritePrincipal,
) -> Response:
    try:
        model = state.slot.current
        if model is None:  # nothing to check labels against: they would go in unchecked
            raise RequestError(
                503, f"no model is loaded, so labels cannot be checked: {state.slot.problem}"
            )
        payload = parse_json(await read_body(request, state.max_body))
        bounds = (
            label_bounds(state.label_bounds, state.label_margin, model.target_range)
            if model.regression
            else None
        )
        labels = feedback_items(payload, state.max_records, model.classes, model.regression, bounds)
        outcome = await run_in_threadpool(record_labels, state.log_root, labels, principal)
    except RequestError as error:
        return json_response(error.status, error.body())
    except (BucleError, sqlite3.Error, OSError) as error:  # a locked or full disk: retry
        return json_response(503, {"detail": f"cannot store the feedback: {error}; retry"})
    if outcome.conflicts:
        return json_response(409, conflict_error(outcome.conflicts).body())
    return json_response(
        200,
        {"stored": outcome.stored, "unknown": outcome.unknown, "unchanged": outcome.unchanged},
    )
