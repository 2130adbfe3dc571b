"""``POST /predict``: route, score, log (committed before the answer), answer; shadow after.

Which model answers is the router's choice for a request key the server issues; the records'
ids are ``<key>-<index>``. A client's ``X-Request-ID`` is checked, logged as
``client_request_id`` and echoed back, and decides nothing.

A prediction is answered only after its rows are committed to the inference log; when the log
cannot take them the client gets 503 and no prediction, never an unlogged one.

Records that pass the model's schema are then held to the project's data rules
(``serve.rules``, :mod:`framework.serving.rules`): a record that breaks one is answered with
``warnings`` (logged and counted too) or, under ``refuse``, the request is a 422 naming it.
"""

from __future__ import annotations

import asyncio
import logging
import operator
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from framework.errors import BucleError
from framework.serving.http import json_response, read_body
from framework.serving.inference_log import InferenceLogError, Prediction
from framework.serving.rules import RuleFindings
from framework.serving.state import PredictPrincipal, ServingState, State
from framework.serving.validation import (
    Problems,
    RequestError,
    client_request_id,
    new_request_key,
    parse_json,
    predict_records,
    record_ids,
)

logger = logging.getLogger("bucle.serving")
router = APIRouter()


@router.post("/predict")
async def predict(request: Request, state: State, principal: PredictPrincipal) -> Response:
    metrics = state.metrics
    started = time.perf_counter()
    metrics.in_flight.inc()
    key = new_request_key()
    route = state.router.route(key)  # this request's models, whatever aliases do meanwhile
    model = route.answering
    version = str(model.number) if model is not None else "none"
    outcome = "error"
    echoed: dict[str, str] = {}
    try:
        client_id = client_request_id(request.headers.get("x-request-id"))
        if client_id is not None:
            echoed["X-Request-ID"] = client_id
        if model is None:
            outcome = "unavailable"
            detail = f"no model is loaded: {state.slot.problem}"
            return json_response(503, {"detail": detail}, echoed)
        payload = parse_json(await read_body(request, state.max_body))
        records = predict_records(payload, state.max_records)
        ids = record_ids(key, len(records))
        predictions, probabilities, findings = await run_in_threadpool(
            score_with_rules, state, model, records
        )
        if findings:
            refused = state.rules is not None and state.rules.refuses
            metrics.count_rule_violations(findings.counts, "refused" if refused else "warned")
            if refused:
                raise refusal(findings)
        warnings = findings.warnings if findings is not None else None
        logged = log_rows(
            state, model, route.alias, ids, records, predictions, probabilities, client_id, warnings
        )
        try:
            await asyncio.wrap_future(state.inference_log.submit(logged))
        except InferenceLogError as error:
            outcome = "unavailable"
            detail = f"{error}; the prediction was not made, retry"
            return json_response(503, {"detail": detail}, echoed)
        metrics.count_predictions(version, predictions, model.regression)
        if route.shadow is not None:
            task = asyncio.create_task(
                shadow_predict(state, route.shadow, records, ids, predictions, client_id)
            )
            state.shadow_tasks.add(task)
            task.add_done_callback(state.shadow_tasks.discard)
        outcome = "ok"
        return json_response(
            200,
            {
                "model": {"name": state.name, "version": model.number, "alias": route.alias},
                "predictions": [answer(entry, model) for entry in logged],
            },
            echoed,
        )
    except RequestError as error:
        outcome = "invalid" if error.status < 500 else "unavailable"
        return json_response(error.status, error.body(), echoed)
    finally:
        metrics.in_flight.dec()
        metrics.observe(version, outcome, time.perf_counter() - started)


def score_with_rules(
    state: ServingState, model: Any, records: list[Any]
) -> tuple[list[Any], list[dict[str, float]], RuleFindings | None]:
    """The model's answer, then what the data rules find in the records (None: no rules).

    The schema check comes first (inside ``score``): a value of the wrong type is named as
    such, never as a broken range.
    """
    predictions, probabilities = model.score(records)
    if state.rules is None:
        return predictions, probabilities, None
    try:
        findings = state.rules.check(records)
    except BucleError as error:
        # A rule that cannot judge these values is a config problem (``allowed: [yes, no]`` read
        # as booleans on a text column): never a 500. Refusing needs the rules, warning does not.
        if state.rules.refuses:
            raise RequestError(
                503, f"serve.rules=refuse cannot check this request: {error}"
            ) from None
        logger.warning("serve.rules=warn could not check a request: %s", error)
        return predictions, probabilities, None
    return predictions, probabilities, findings


def refusal(findings: RuleFindings) -> RequestError:
    """``serve.rules=refuse``: a 422 naming each record, field and rule broken."""
    problems = Problems()
    for record, field, rule, value in findings.problems:
        got = f" (got {value!r})" if field is not None else ""
        problems.add(
            record,
            field,
            f"breaks the rule '{rule}' of validate.rules{got}; fix the record, or serve with "
            "serve.rules=warn to answer it flagged",
        )
    try:
        problems.raise_if_any()
    except RequestError as error:
        return error
    raise AssertionError("refusal() needs at least one problem")


def log_rows(
    state: ServingState,
    model: Any,
    answered_by: str,
    ids: list[str],
    records: list[Any],
    predictions: list[Any],
    probabilities: list[dict[str, float]],
    client_id: str | None,
    warnings: list[list[str]] | None = None,
) -> list[Prediction]:
    now = datetime.now(UTC)
    flagged = warnings if warnings is not None else [()] * len(ids)
    return [
        Prediction(
            request_id=request_id,
            timestamp=now,
            model_name=state.name,
            model_version=model.number,
            model_sha256=model.sha256,
            alias=answered_by,
            inputs=record,
            prediction=prediction,
            probabilities=probability,
            client_request_id=client_id,
            rule_warnings=tuple(warned),
        )
        for request_id, record, prediction, probability, warned in zip(
            ids, records, predictions, probabilities, flagged, strict=True
        )
    ]


def answer(entry: Prediction, model: Any) -> dict[str, Any]:
    """One record's answer: a regression model's has a number and no probabilities; the
    client's own id is repeated when it sent one."""
    body: dict[str, Any] = {"request_id": entry.request_id}
    if entry.client_request_id is not None:
        body["client_request_id"] = entry.client_request_id
    body["prediction"] = entry.prediction
    if not model.regression:
        body["probabilities"] = entry.probabilities
    body["model_version"] = model.number
    if entry.rule_warnings:
        body["warnings"] = list(entry.rule_warnings)
    return body


async def shadow_predict(
    state: ServingState,
    model: Any,
    records: list[Any],
    ids: list[str],
    answered: list[Any],
    client_id: str | None,
) -> None:
    """Predict ``records`` with the shadow model, log and compare; never raises."""
    metrics = state.metrics
    version = str(model.number)
    started = time.perf_counter()
    try:
        predictions, probabilities = await run_in_threadpool(model.score, records)
    except RequestError as error:  # valid for production, not for the challenger's schema
        metrics.observe_shadow(version, "invalid", time.perf_counter() - started)
        logger.warning("shadow v%s refused a request production answered: %s", version, error)
        return
    except Exception as error:
        metrics.observe_shadow(version, "error", time.perf_counter() - started)
        logger.error("shadow v%s failed: %s: %s", version, type(error).__name__, error)
        return
    seconds = time.perf_counter() - started
    if model.regression:  # agreement of numbers: how far apart the two models are
        pairs = zip(predictions, answered, strict=True)
        differences = [abs(float(a) - float(b)) for a, b in pairs]
        metrics.observe_shadow_difference(version, seconds, differences)
    else:
        agreed = sum(map(operator.eq, predictions, answered))
        metrics.observe_shadow(version, "ok", seconds, agreed, len(answered))
    alias = state.router.challenger.alias
    rows = log_rows(state, model, alias, ids, records, predictions, probabilities, client_id)
    try:
        await asyncio.wrap_future(state.shadow_log.submit(rows))
    except InferenceLogError as error:
        logger.error("shadow predictions of v%s were not logged: %s", version, error)
