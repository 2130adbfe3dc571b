"""What the server says about itself: ``/health``, ``/ready``, ``/model``, ``/metrics``.

Read-only and open: none of them changes state, and none shows a token (the tokens are not
part of what :class:`~framework.serving.state.ServingState` describes).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from framework.serving.http import json_response
from framework.serving.state import State

router = APIRouter()


@router.get("/health")
async def health() -> Response:
    return json_response(200, {"status": "alive"})


@router.get("/ready")
async def ready(state: State) -> Response:
    model = state.slot.current
    if model is None:
        reason = state.slot.problem or "the model is still loading"
        return json_response(503, {"ready": False, "reason": reason})
    return json_response(200, {"ready": True, "alias": state.alias, "version": model.number})


def positive_class(described: dict[str, Any], configured: Any) -> Any:
    """The class the model's binary metrics and threshold are about: the one its decision
    threshold was tuned for, else ``evaluate.positive_label``, else the last class (1, yes) —
    the same rule the evaluate stage used. None for a regression model."""
    classes = described.get("classes") or []
    if described.get("task") != "classification" or not classes:
        return None
    if described.get("positive_label") is not None:
        return described["positive_label"]
    for label in classes:
        if configured is not None and (label == configured or str(label) == str(configured)):
            return label
    return classes[-1]


@router.get("/model")
async def model_info(state: State, request: Request) -> Response:
    model = state.slot.current
    described = model.describe() if model is not None else {"version": None}
    if model is not None:
        configured = getattr(request.app.state, "positive_label", None)
        described["positive_label"] = positive_class(described, configured)
    challenger = state.challenger
    rival = challenger.current if challenger is not None else None
    strategy = state.strategy
    return json_response(
        200,
        {
            "name": state.name,
            "alias": state.alias,
            **described,
            "strategy": strategy.name,
            "traffic": state.router.traffic(),
            "challenger": None
            if challenger is None
            else {
                "alias": challenger.alias,
                "version": rival.number if rival is not None else None,
                "sha256": rival.sha256 if rival is not None else None,
                "canary_fraction": strategy.canary_fraction if strategy.name == "canary" else None,
                "problem": challenger.problem,
            },
            "problem": state.slot.problem,
            # Whether each kind of request needs a token; never the token itself.
            "auth": {
                "feedback": "token" if state.tokens.write else "closed",
                "predict": "token" if state.tokens.predict else "open",
            },
        },
    )


@router.get("/metrics")
async def prometheus_metrics(state: State) -> Response:
    content, media_type = state.metrics.exposition()
    return Response(content, media_type=media_type)
