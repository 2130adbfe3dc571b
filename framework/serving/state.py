"""What the routes share: one :class:`ServingState` per app, and the dependencies that hand it
(and the caller's principal) to a route, so a token check is one parameter on the route."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from framework.serving.auth import Tokens, check_predict, check_write
from framework.serving.inference_log import InferenceLog
from framework.serving.metrics import ServingMetrics
from framework.serving.models import ModelSlot
from framework.serving.router import Router, TrafficStrategy
from framework.serving.rules import ServingRules


@dataclass
class ServingState:
    """Everything a request may touch, built once by ``create_app`` from the config."""

    name: str
    alias: str
    log_root: Path
    max_records: int
    max_body: int
    strategy: TrafficStrategy
    slot: ModelSlot
    challenger: ModelSlot | None
    router: Router
    inference_log: InferenceLog
    shadow_log: InferenceLog | None
    metrics: ServingMetrics
    tokens: Tokens = field(repr=False)
    #: ``serve.label_bounds`` as configured (None: derived from each model's profile).
    label_bounds: Any = None
    #: ``serve.label_margin``: spans of the training target's range a label may lie beyond it.
    label_margin: float = 10.0
    #: ``validate.rules`` applied to served records (``serve.rules``); None: none apply.
    rules: ServingRules | None = None
    shadow_tasks: set[asyncio.Task] = field(default_factory=set)


async def serving_state(request: Request) -> ServingState:
    return request.app.state.serving


async def write_principal(request: Request) -> str:
    """Dependency of every route that changes state: the write token, or 401/403."""
    state: ServingState = request.app.state.serving
    return check_write(state.tokens, request.headers.get("authorization"))


async def predict_principal(request: Request) -> str:
    """Dependency of /predict: the predict token when one is configured, or 401."""
    state: ServingState = request.app.state.serving
    return check_predict(state.tokens, request.headers.get("authorization"))


#: A route's parameter types: ``state: State`` hands it the shared state; ``principal:
#: WritePrincipal`` makes it a write that needs the write token (one line per route).
State = Annotated[ServingState, Depends(serving_state)]
WritePrincipal = Annotated[str, Depends(write_principal)]
PredictPrincipal = Annotated[str, Depends(predict_principal)]
