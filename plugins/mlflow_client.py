"""One MLflow client for the ``mlflow`` tracker and registry: quiet, offline, errors in one line.

MLflow is an optional extra (``pip install bucle[mlflow]``), imported here only when a config
selects one of the two plugins. Telemetry is off unless the user turned it on themselves, the
sqlite file's directory is created, MLflow's and alembic's start-up chatter stays out of the
run's output, and a failing call becomes a :class:`~framework.errors.PluginError` that names the
plugin, the URI (password masked) and the fix.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from framework.errors import PluginError
from framework.urls import masked, masked_text

T = TypeVar("T")

#: Loggers that announce database migrations at INFO on every new sqlite store.
QUIET_LOGGERS = ("alembic", "mlflow.store.db.utils", "mlflow.store.model_registry.abstract_store")


def make_client(plugin: str, tracking_uri: str, registry_uri: str | None = None) -> Any:
    """An ``MlflowClient`` for the URIs, or a one-line PluginError when mlflow is missing."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        from mlflow import MlflowClient
    except ImportError as error:
        raise PluginError(
            f"{plugin} needs MLflow, which is not installed ({error.name}); "
            "install it with `pip install bucle[mlflow]`"
        ) from None
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for uri in filter(None, (tracking_uri, registry_uri)):
        _make_sqlite_parent(uri)
    return call(
        plugin,
        tracking_uri,
        "open the store",
        MlflowClient,
        tracking_uri=tracking_uri,
        registry_uri=registry_uri or tracking_uri,
    )


def call(plugin: str, uri: str, what: str, function: Callable[..., T], *args: Any, **kw: Any) -> T:
    """``function(*args, **kw)``, with MLflow's exceptions worded as one line for the user."""
    from mlflow.exceptions import MlflowException

    try:
        return function(*args, **kw)
    except MlflowException as error:
        message = masked_text(" ".join(str(error.message).split()))[:300]
        raise PluginError(
            f"{plugin} could not {what} at {masked(uri)}: {message}; check the URI and that "
            "the MLflow store is reachable"
        ) from None


def not_found(error: Exception) -> bool:
    """True for MLflow's answer to a version or alias that does not exist."""
    code = getattr(error, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") and (
        "not found" in str(error).lower() or code == "RESOURCE_DOES_NOT_EXIST"
    )


def _make_sqlite_parent(uri: str) -> None:
    """SQLAlchemy creates a sqlite file but not its directory: make ``.bucle/`` first."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and uri != f"{prefix}:memory:":
        Path(uri[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)
