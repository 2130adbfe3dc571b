"""``bucle serve``: the model of ``serve.alias`` over HTTP, FastAPI on uvicorn, in the foreground.

The config is ``params.yaml`` as written (what ``dvc repro`` ran with), or ``conf/`` composed
with the overrides given on the command line. ``--host``, ``--port``, ``--alias`` and ``--strategy``
win over both, so a second server (staging, a test) can run beside the first without editing
config or recomposing ``conf/``.

The server answers anyone who can reach its address. On loopback that is this machine; on any
other address it is the network, so a server there needs a write token (``serve.token`` or
``BUCLE_SERVE_TOKEN``) or the explicit ``serve.allow_open: true``, which is said out loud.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from framework.errors import BucleError, ConfigError

#: Where the write token comes from when ``serve.token`` is null.
TOKEN_ENV = "BUCLE_SERVE_TOKEN"


def command_config(overrides: Sequence[str] = ()):
    """``params.yaml`` as written, or ``conf/`` composed with ``overrides`` when there are any."""
    from framework.commands.project import project_config
    from framework.config.compose import compose_config, validate_config

    if overrides:
        return validate_config(compose_config(overrides), "conf/ with overrides")
    return project_config()


def serve_config(
    overrides: Sequence[str] = (),
    host: str | None = None,
    port: int | None = None,
    alias: str | None = None,
    strategy: str | None = None,
):
    """The validated config to serve with, ``--host``/``--port``/``--alias``/``--strategy``
    applied on top (they change one key without recomposing ``conf/``)."""
    from omegaconf import open_dict

    cfg = command_config(overrides)
    if host is not None:
        cfg.serve.host = host
    if port is not None:
        cfg.serve.port = port
    if alias is not None:
        from framework.commands.aliases import check_alias

        cfg.serve.alias = check_alias(alias)
    if strategy is not None:
        with open_dict(cfg):
            cfg.deploy.strategy = strategy
    if not 1 <= int(cfg.serve.port) <= 65535:
        raise ConfigError(f"serve.port={cfg.serve.port} is not a TCP port; use 1 to 65535")
    for key in ("max_records", "max_body_bytes", "max_connections"):
        if int(cfg.serve[key]) < 1:
            raise ConfigError(f"serve.{key}={cfg.serve[key]} must be at least 1")
    for key in ("poll_seconds", "flush_seconds", "body_timeout", "keep_alive_seconds"):
        if float(cfg.serve[key]) <= 0:
            raise ConfigError(f"serve.{key}={cfg.serve[key]} must be a positive number of seconds")
    from framework.serving.auth import Tokens
    from framework.serving.validation import check_label_settings

    Tokens.from_config(cfg.serve)  # a token too short or unresolvable: one line, never its value
    check_label_settings(cfg.serve)
    from framework.release.policy import ReleasePolicy
    from framework.serving.router import serving_strategy

    # A wrong deploy.strategy or deploy.release key fails here, before anything starts.
    serving_strategy(cfg)
    ReleasePolicy.from_config(cfg.deploy)
    return cfg


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only: ``localhost`` or a loopback IP literal. Any
    other name counts as open: what it resolves to can change after the check."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def configured_token(serve: Any) -> str | None:
    """The write token: ``serve.token``, else the ``BUCLE_SERVE_TOKEN`` environment variable,
    resolved and checked by the same rule the server applies; None when neither is set."""
    from framework.serving.auth import resolve_token

    return resolve_token(serve.get("token"), "serve.token", TOKEN_ENV)


def check_exposure(serve: Any) -> str | None:
    """Refuse to listen beyond loopback without a write token, unless told to.

    Returns None when listening is safe (loopback, or a token protects what changes state),
    the warning to print when ``serve.allow_open`` opens it deliberately, and raises
    ConfigError otherwise, before anything is loaded or bound.
    """
    host, port = str(serve["host"]), serve["port"]
    if is_loopback(host) or configured_token(serve) is not None:
        return None
    if bool(serve.get("allow_open", False)):
        return (
            f"WARNING: serving on {host}:{port} with no token (serve.allow_open=true): anyone "
            "who can reach this port can post /feedback and read /model and /metrics; set "
            f"serve.token or {TOKEN_ENV} to protect it"
        )
    raise ConfigError(
        f"serve.host={host} accepts connections from other machines and no token protects "
        f"them; set serve.token (or {TOKEN_ENV}), listen on 127.0.0.1, or set "
        "serve.allow_open=true to serve without one"
    )


def warn_exposure(serve: Any) -> None:
    """Print :func:`check_exposure`'s warning to stderr, when there is one."""
    warning = check_exposure(serve)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)


def check_address(host: str, port: int) -> None:
    """Fail with one line before loading anything when the address cannot be listened on.

    uvicorn would otherwise load the model, start the log, and only then report the bind error
    in its own words with exit code 3.
    """
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        raise BucleError(
            f"cannot listen on {host}:{port}: {error.strerror or error}; choose another address "
            "with --host/--port (serve.host, serve.port)"
        ) from None


def serve(
    overrides: Sequence[str] = (),
    host: str | None = None,
    port: int | None = None,
    alias: str | None = None,
    strategy: str | None = None,
) -> int:
    """Run the server until interrupted; SIGINT/SIGTERM stop it after flushing the log."""
    cfg = serve_config(overrides, host, port, alias, strategy)
    warn_exposure(cfg.serve)
    check_address(str(cfg.serve.host), int(cfg.serve.port))
    from framework.serving.app import create_app, inference_root
    from framework.serving.inference_log import InferenceLog

    # Settle and open the log here: failing inside uvicorn's startup would print a traceback.
    InferenceLog(inference_root(Path(str(cfg.paths.state)), str(cfg.serve.alias))).recover()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    import uvicorn

    app = create_app(cfg)
    logging.getLogger("bucle.serving").info(
        "%s alias '%s' on http://%s:%s",
        cfg.project,
        cfg.serve.alias,
        cfg.serve.host,
        cfg.serve.port,
    )
    uvicorn.run(
        app,
        host=str(cfg.serve.host),
        port=int(cfg.serve.port),
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=10,
        # uvicorn answers 503 once the open connections reach limit_concurrency, counting the
        # one asking: + 1 makes serve.max_connections the number served at once.
        limit_concurrency=int(cfg.serve.max_connections) + 1,
        timeout_keep_alive=float(cfg.serve.keep_alive_seconds),
    )
    return 0
