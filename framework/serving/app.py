"""The FastAPI app ``bucle serve`` runs: predict, feedback, health, readiness, model, metrics.

Which model answers is the router's choice (:mod:`framework.serving.router`): the served
alias under ``basic``, the challenger for a share of requests under ``canary``; under ``shadow``
the challenger predicts the same records after the answer is sent, in the background, and its
predictions go to a log of their own and to the ``bucle_shadow_*`` metrics.

Request bodies are read and checked by hand rather than through pydantic models: the request
schema is the served model's, which changes when the alias moves, and every refusal must name
the record and the field. Each answer is built from one snapshot of the routed models, taken
when the request starts, so a promotion never mixes two versions in one answer.

A prediction is answered only after its rows are committed to the inference log; when the log
cannot take them the client gets 503 and no prediction, never an unlogged one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import operator
import sqlite3
import time
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from framework.serving.inference_log import (
    InferenceLog,
    InferenceLogError,
    Prediction,
    record_feedback,
)
from framework.serving.metrics import ServingMetrics
from framework.serving.models import ModelSlot
from framework.serving.router import Router, serving_strategy
from framework.serving.validation import (
    RequestError,
    feedback_items,
    parse_json,
    predict_records,
    request_ids,
)

logger = logging.getLogger("bucle.serving")


def create_app(cfg: Any, plugin_host: Any = None) -> FastAPI:
    """The inference app for a validated config (``serve`` section, registry and store plugins).

    The registry and store plugins are built here, so a config mistake fails before the server
    listens; the models are loaded and the inference logs opened when the app starts.
    """
    from framework.hooks.host import build_host

    serve = cfg.serve
    name = str(cfg.project)
    alias = str(serve.alias)
    log_root = inference_root(Path(str(cfg.paths.state)), alias)
    max_records = int(serve.max_records)
    max_body = int(serve.max_body_bytes)
    poll = float(serve.poll_seconds)
    strategy = serving_strategy(cfg)
    plugin_host = plugin_host or build_host(cfg, ["registry", "store"])
    slot = ModelSlot(plugin_host, name, alias, poll)
    challenger = (
        ModelSlot(plugin_host, name, strategy.challenger_alias, poll, optional=True)
        if strategy.uses_challenger
        else None
    )
    router = Router(strategy, slot, challenger)
    slots = [slot] if challenger is None else [slot, challenger]
    inference_log = InferenceLog(log_root, flush_seconds=float(serve.flush_seconds))
    # Shadow answers were never given to anyone: they stay out of the inference data set.
    shadow_log = (
        InferenceLog(log_root / "shadow", flush_seconds=float(serve.flush_seconds))
        if strategy.name == "shadow"
        else None
    )
    logs = [inference_log] if shadow_log is None else [inference_log, shadow_log]
    metrics = ServingMetrics()
    shadow_tasks: set[asyncio.Task] = set()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        for log in logs:
            log.start()
        for each in slots:
            await run_in_threadpool(each.refresh)
            each.start()
        try:
            yield
        finally:
            for each in slots:
                each.stop()
            if shadow_tasks:  # let shadow predictions in progress reach their log
                await asyncio.wait(shadow_tasks, timeout=10)
            for log in logs:
                log.close()
            logger.info("inference log flushed; server stopped")

    app = FastAPI(
        title=f"bucle: {name}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.slot = slot
    app.state.router = router
    app.state.inference_log = inference_log
    app.state.metrics = metrics

    async def shadow_predict(
        model: Any, records: list[Any], ids: list[str], answered: list[Any]
    ) -> None:
        """Predict ``records`` with the shadow model, log and compare; never raises."""
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
        rows = log_rows(model, router.challenger.alias, ids, records, predictions, probabilities)
        try:
            await asyncio.wrap_future(shadow_log.submit(rows))
        except InferenceLogError as error:
            logger.error("shadow predictions of v%s were not logged: %s", version, error)

    def log_rows(
        model: Any,
        answered_by: str,
        ids: list[str],
        records: list[Any],
        predictions: list[Any],
        probabilities: list[dict[str, float]],
    ) -> list[Prediction]:
        now = datetime.now(UTC)
        return [
            Prediction(
                request_id=request_id,
                timestamp=now,
                model_name=name,
                model_version=model.number,
                model_sha256=model.sha256,
                alias=answered_by,
                inputs=record,
                prediction=prediction,
                probabilities=probability,
            )
            for request_id, record, prediction, probability in zip(
                ids, records, predictions, probabilities, strict=True
            )
        ]

    def answer(entry: Prediction, model: Any) -> dict[str, Any]:
        """One record's answer: a regression model's has a number and no probabilities."""
        body: dict[str, Any] = {"request_id": entry.request_id, "prediction": entry.prediction}
        if not model.regression:
            body["probabilities"] = entry.probabilities
        body["model_version"] = model.number
        return body

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        metrics.in_flight.inc()
        header = request.headers.get("x-request-id")
        request_key = header if header is not None else uuid.uuid4().hex
        route = router.route(request_key)  # this request's models, whatever aliases do meanwhile
        model = route.answering
        version = str(model.number) if model is not None else "none"
        outcome = "error"
        try:
            if model is None:
                outcome = "unavailable"
                return _json(503, {"detail": f"no model is loaded: {slot.problem}"})
            payload = parse_json(await read_body(request, max_body))
            records = predict_records(payload, max_records)
            ids = request_ids(request_key, len(records))
            predictions, probabilities = await run_in_threadpool(model.score, records)
            logged = log_rows(model, route.alias, ids, records, predictions, probabilities)
            try:
                await asyncio.wrap_future(inference_log.submit(logged))
            except InferenceLogError as error:
                outcome = "unavailable"
                return _json(503, {"detail": f"{error}; the prediction was not made, retry"})
            metrics.count_predictions(version, predictions, model.regression)
            if route.shadow is not None:
                task = asyncio.create_task(shadow_predict(route.shadow, records, ids, predictions))
                shadow_tasks.add(task)
                task.add_done_callback(shadow_tasks.discard)
            outcome = "ok"
            return _json(
                200,
                {
                    "model": {"name": name, "version": model.number, "alias": route.alias},
                    "predictions": [answer(entry, model) for entry in logged],
                },
            )
        except RequestError as error:
            outcome = "invalid" if error.status < 500 else "unavailable"
            return _json(error.status, error.body())
        finally:
            metrics.in_flight.dec()
            metrics.observe(version, outcome, time.perf_counter() - started)

    @app.post("/feedback")
    async def feedback(request: Request) -> Response:
        try:
            payload = parse_json(await read_body(request, max_body))
            model = slot.current
            pairs = feedback_items(
                payload,
                max_records,
                model.classes if model else None,
                regression=bool(model and model.regression),
            )
            stored, unknown = await run_in_threadpool(record_feedback, log_root, pairs)
        except RequestError as error:
            return _json(error.status, error.body())
        except (sqlite3.Error, OSError) as error:  # a locked or full disk: the client may retry
            return _json(503, {"detail": f"cannot store the feedback: {error}; retry"})
        return _json(200, {"stored": stored, "unknown": unknown})

    @app.get("/health")
    async def health() -> Response:
        return _json(200, {"status": "alive"})

    @app.get("/ready")
    async def ready() -> Response:
        model = slot.current
        if model is None:
            reason = slot.problem or "the model is still loading"
            return _json(503, {"ready": False, "reason": reason})
        return _json(200, {"ready": True, "alias": alias, "version": model.number})

    @app.get("/model")
    async def model_info() -> Response:
        model = slot.current
        described = model.describe() if model is not None else {"version": None}
        rival = challenger.current if challenger is not None else None
        return _json(
            200,
            {
                "name": name,
                "alias": alias,
                **described,
                "strategy": strategy.name,
                "traffic": router.traffic(),
                "challenger": None
                if challenger is None
                else {
                    "alias": challenger.alias,
                    "version": rival.number if rival is not None else None,
                    "sha256": rival.sha256 if rival is not None else None,
                    "canary_fraction": strategy.canary_fraction
                    if strategy.name == "canary"
                    else None,
                    "problem": challenger.problem,
                },
                "problem": slot.problem,
            },
        )

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        content, media_type = metrics.exposition()
        return Response(content, media_type=media_type)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> Response:
        # A bug, never the client's input: say where to look, keep the traceback in the log.
        return _json(
            500, {"detail": f"internal error ({type(error).__name__}); see the server log"}
        )

    return app


def inference_root(state_dir: Path, alias: str) -> Path:
    """Where a server serving ``alias`` keeps its inference log: production's is the inference
    data set monitoring reads (``<state>/inference``); a server of another alias, such as the
    staging server of ``bucle release``, logs under ``<state>/<alias>/`` so its rehearsal
    traffic never mixes with production's."""
    return state_dir if alias == "production" else state_dir / alias


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    too_large = RequestError(
        413,
        f"the request body is larger than {limit} bytes (serve.max_body_bytes); "
        "send fewer records per request",
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        raise RequestError(400, "the client went away before sending the whole body") from None
    return b"".join(chunks)


class AsciiJSONResponse(JSONResponse):
    """JSON escaped to ASCII: a client's text echoed in an error (a field name holding a lone
    surrogate, say) can never fail to encode and turn a 422 into a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


def _json(status: int, content: dict[str, Any]) -> Response:
    return AsciiJSONResponse(content, status_code=status)
