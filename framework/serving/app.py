"""The FastAPI app ``bucle serve`` runs: predict, feedback, health, readiness, model, metrics.

Construction only: the endpoints live in one router module per concern
(:mod:`framework.serving.routes`: ``predict``, ``feedback``, ``info``) and share one
:class:`~framework.serving.state.ServingState`. Who may call what is a FastAPI dependency on
the route (:mod:`framework.serving.auth`): ``/feedback`` needs the write token, ``/predict``
the predict token when one is configured, the rest is open and read-only.

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

Records are also held to the project's data rules (``serve.rules``, :mod:`framework.serving.rules`):
a record the validate stage would quarantine is flagged in its answer, or refused.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from framework.serving.auth import Tokens, Unauthorized
from framework.serving.http import AsciiJSONResponse, json_response, read_body
from framework.serving.inference_log import FlushError, InferenceLog, inference_root
from framework.serving.metrics import ServingMetrics
from framework.serving.models import ModelSlot
from framework.serving.router import Router, serving_strategy
from framework.serving.routes import feedback, info, predict
from framework.serving.rules import ServingRules
from framework.serving.state import ServingState
from framework.serving.validation import LABEL_MARGIN

__all__ = ["AsciiJSONResponse", "create_app", "inference_root", "read_body"]

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
    poll = float(serve.poll_seconds)
    strategy = serving_strategy(cfg)
    tokens = Tokens.from_config(serve)
    plugin_host = plugin_host or build_host(cfg, ["registry", "store"])
    slot = ModelSlot(plugin_host, name, alias, poll)
    challenger = (
        ModelSlot(plugin_host, name, strategy.challenger_alias, poll, optional=True)
        if strategy.uses_challenger
        else None
    )
    flush = float(serve.flush_seconds)
    state = ServingState(
        name=name,
        alias=alias,
        log_root=log_root,
        max_records=int(serve.max_records),
        max_body=int(serve.max_body_bytes),
        strategy=strategy,
        slot=slot,
        challenger=challenger,
        router=Router(strategy, slot, challenger),
        inference_log=InferenceLog(log_root, flush_seconds=flush),
        # Shadow answers were never given to anyone: they stay out of the inference data set.
        shadow_log=InferenceLog(log_root / "shadow", flush_seconds=flush)
        if strategy.name == "shadow"
        else None,
        metrics=ServingMetrics(),
        tokens=tokens,
        label_bounds=serve.get("label_bounds"),
        label_margin=float(serve.get("label_margin", LABEL_MARGIN)),
        rules=ServingRules.from_config(cfg),
    )
    slots = [slot] if challenger is None else [slot, challenger]
    logs = [log for log in (state.inference_log, state.shadow_log) if log is not None]

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
            if state.shadow_tasks:  # let shadow predictions in progress reach their log
                await asyncio.wait(state.shadow_tasks, timeout=10)
            kept = False
            for log in logs:
                try:
                    log.close()
                except FlushError as error:  # the rows stay buffered: one line, no traceback
                    logger.error("%s", error)
                    kept = True
            if not kept:
                logger.info("inference log flushed; server stopped")

    app = FastAPI(
        title=f"bucle: {name}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.serving = state
    app.state.positive_label = cfg.evaluate.get("positive_label")  # for /model
    from framework.serving.timeouts import BodyTimeoutMiddleware

    app.add_middleware(BodyTimeoutMiddleware, seconds=float(serve.body_timeout))
    for module in (predict, feedback, info):
        app.include_router(module.router)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, error: Unauthorized) -> Response:
        return json_response(error.status, {"detail": error.detail}, error.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> Response:
        # A bug, never the client's input: say where to look, keep the traceback in the log.
        return json_response(
            500, {"detail": f"internal error ({type(error).__name__}); see the server log"}
        )

    return app
