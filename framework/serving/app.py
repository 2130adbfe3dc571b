"""The FastAPI app ``bucle serve`` runs: predict, feedback, health, readiness, model, metrics.

Request bodies are read and checked by hand rather than through pydantic models: the request
schema is the served model's, which changes when the alias moves, and every refusal must name
the record and the field. Each answer is built from one snapshot of the served model, taken
when the request starts, so a promotion never mixes two versions in one answer.

A prediction is answered only after its rows are committed to the inference log; when the log
cannot take them the client gets 503 and no prediction, never an unlogged one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
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
from framework.serving.validation import (
    RequestError,
    feedback_items,
    parse_json,
    predict_records,
    request_ids,
)

logger = logging.getLogger("bucle.serving")

#: The only strategy this server runs so far: the served alias answers every request.
STRATEGY = "basic"


def create_app(cfg: Any, plugin_host: Any = None) -> FastAPI:
    """The inference app for a validated config (``serve`` section, registry and store plugins).

    The registry and store plugins are built here, so a config mistake fails before the server
    listens; the model is loaded and the inference log opened when the app starts.
    """
    from framework.hooks.host import build_host

    serve = cfg.serve
    name = str(cfg.project)
    alias = str(serve.alias)
    state_dir = Path(str(cfg.paths.state))
    max_records = int(serve.max_records)
    max_body = int(serve.max_body_bytes)
    plugin_host = plugin_host or build_host(cfg, ["registry", "store"])
    slot = ModelSlot(plugin_host, name, alias, float(serve.poll_seconds))
    inference_log = InferenceLog(state_dir, flush_seconds=float(serve.flush_seconds))
    metrics = ServingMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        inference_log.start()
        await run_in_threadpool(slot.refresh)
        slot.start()
        try:
            yield
        finally:
            slot.stop()
            inference_log.close()
            logger.info("inference log flushed; server stopped")

    app = FastAPI(
        title=f"bucle: {name}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.slot = slot
    app.state.inference_log = inference_log
    app.state.metrics = metrics

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        metrics.in_flight.inc()
        model = slot.current  # this request's model, whatever the alias does meanwhile
        version = str(model.number) if model is not None else "none"
        outcome = "error"
        try:
            if model is None:
                outcome = "unavailable"
                return _json(503, {"detail": f"no model is loaded: {slot.problem}"})
            payload = parse_json(await read_body(request, max_body))
            records = predict_records(payload, max_records)
            ids = request_ids(request.headers.get("x-request-id"), len(records))
            predictions, probabilities = await run_in_threadpool(model.score, records)
            now = datetime.now(UTC)
            logged = [
                Prediction(
                    request_id=request_id,
                    timestamp=now,
                    model_name=name,
                    model_version=model.number,
                    model_sha256=model.sha256,
                    alias=alias,
                    inputs=record,
                    prediction=prediction,
                    probabilities=probability,
                )
                for request_id, record, prediction, probability in zip(
                    ids, records, predictions, probabilities, strict=True
                )
            ]
            try:
                await asyncio.wrap_future(inference_log.submit(logged))
            except InferenceLogError as error:
                outcome = "unavailable"
                return _json(503, {"detail": f"{error}; the prediction was not made, retry"})
            metrics.count_predictions(version, predictions)
            outcome = "ok"
            return _json(
                200,
                {
                    "model": {"name": name, "version": model.number, "alias": alias},
                    "predictions": [
                        {
                            "request_id": entry.request_id,
                            "prediction": entry.prediction,
                            "probabilities": entry.probabilities,
                            "model_version": model.number,
                        }
                        for entry in logged
                    ],
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
            pairs = feedback_items(payload, max_records, model.classes if model else None)
            stored, unknown = await run_in_threadpool(record_feedback, state_dir, pairs)
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
        return _json(
            200,
            {
                "name": name,
                "alias": alias,
                **described,
                "strategy": STRATEGY,
                "traffic": {alias: 1.0},
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
