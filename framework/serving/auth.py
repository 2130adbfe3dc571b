"""Bearer tokens for the server's endpoints: who may write, and who may ask for predictions.

Two tokens, each from the config or, when the config leaves it null, from the environment:

``serve.token`` (``BUCLE_SERVE_TOKEN``)
    The write token. Every endpoint that changes state (``/feedback``) requires it. Without one
    configured those endpoints answer 403: writes are closed by default, because a label
    changes what retraining learns from.
``serve.predict_token`` (``BUCLE_PREDICT_TOKEN``)
    Optional. When set, ``/predict`` requires it; when null ``/predict`` is open.

Clients send ``Authorization: Bearer <token>``; the comparison is constant-time
(:func:`hmac.compare_digest`). A token is never logged, printed nor shown by ``/model`` or
``/metrics``: :class:`Tokens` keeps the values out of its ``repr``, and every message names
the setting, never the value. With one token per role, the authenticated principal a record
is attributed to is the setting's name (``serve.token``); the client names itself with a
``source`` of its own.
"""

from __future__ import annotations

import hmac
import os
import re
from dataclasses import dataclass, field
from typing import Any

from framework.errors import ConfigError

WRITE_TOKEN_ENV = "BUCLE_SERVE_TOKEN"
PREDICT_TOKEN_ENV = "BUCLE_PREDICT_TOKEN"
#: Shorter tokens can be guessed; 16 characters of ``secrets.token_urlsafe`` are 96 bits.
MIN_TOKEN_LENGTH = 16
#: What a header can carry unchanged: printable ASCII without spaces.
TOKEN_CHARACTERS = re.compile(r"[\x21-\x7e]+")
HOW_TO_MAKE_ONE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def resolve_token(configured: Any, setting: str, variable: str) -> str | None:
    """The token of ``setting``: its config value, else the environment variable ``variable``,
    else None. An empty value counts as unset. ConfigError (naming the setting, never the
    value) for a token too short or holding characters a header cannot carry."""
    value = configured if configured not in (None, "") else os.environ.get(variable) or None
    if value is None:
        return None
    where = f"{setting} (or {variable})"
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be text, got {type(value).__name__}; quote it")
    if not TOKEN_CHARACTERS.fullmatch(value):
        raise ConfigError(
            f"{where} holds spaces or characters an HTTP header cannot carry; use printable "
            f"ASCII, e.g. {HOW_TO_MAKE_ONE}"
        )
    if len(value) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"{where} is {len(value)} characters long; use at least {MIN_TOKEN_LENGTH}, e.g. "
            f"{HOW_TO_MAKE_ONE}"
        )
    return value


def config_value(serve: Any, key: str) -> Any:
    """``serve.<key>`` resolved (an ``${oc.env:...}`` reference read now), or a ConfigError."""
    try:
        return serve.get(key) if hasattr(serve, "get") else getattr(serve, key, None)
    except Exception as error:  # an unset environment variable behind ${oc.env:...}
        message = " ".join(str(error).split()).split("full_key")[0].strip()
        raise ConfigError(
            f"serve.{key} cannot be resolved: {message}; set the variable it names or use "
            f"${{oc.env:NAME,null}} to leave it unset"
        ) from None


@dataclass(frozen=True)
class Tokens:
    """The server's two tokens; their values never appear in a ``repr``."""

    write: str | None = field(default=None, repr=False)
    predict: str | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, serve: Any) -> Tokens:
        return cls(
            write=resolve_token(config_value(serve, "token"), "serve.token", WRITE_TOKEN_ENV),
            predict=resolve_token(
                config_value(serve, "predict_token"), "serve.predict_token", PREDICT_TOKEN_ENV
            ),
        )


class Unauthorized(Exception):
    """A request without the token an endpoint needs: 401 (or 403 when none is configured)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"} if self.status == 401 else {}


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, None for any other header."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def same_token(given: str, expected: str) -> bool:
    """Constant-time comparison: how long it takes says nothing about how much matched."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


def check_write(tokens: Tokens, authorization: str | None) -> str:
    """The principal of a write request, or :class:`Unauthorized`."""
    if tokens.write is None:
        raise Unauthorized(
            403,
            "writes are closed: this server has no write token; set serve.token (e.g. "
            f"serve.token='${{oc.env:MY_TOKEN}}') or the environment variable {WRITE_TOKEN_ENV} "
            "and restart it",
        )
    given = bearer(authorization)
    if given is None:
        raise Unauthorized(
            401,
            "this endpoint changes state and needs the write token: send 'Authorization: "
            f"Bearer <token>' with the token configured as serve.token or {WRITE_TOKEN_ENV}",
        )
    if not same_token(given, tokens.write):
        raise Unauthorized(
            401,
            "the bearer token is not this server's write token (serve.token or "
            f"{WRITE_TOKEN_ENV}); send the configured one",
        )
    return "serve.token"


def check_predict(tokens: Tokens, authorization: str | None) -> str:
    """The principal of a prediction request (``anonymous`` while /predict is open)."""
    if tokens.predict is None:
        return "anonymous"
    given = bearer(authorization)
    if given is None or not same_token(given, tokens.predict):
        said = "needs" if given is None else "got a token that is not"
        raise Unauthorized(
            401,
            f"/predict {said} the predict token: send 'Authorization: Bearer <token>' with the "
            f"token configured as serve.predict_token or {PREDICT_TOKEN_ENV}",
        )
    return "serve.predict_token"


def client_headers(serve: Any, write: bool = False) -> dict[str, str]:
    """The Authorization header Bucle's own clients (``bucle traffic``, the release smoke
    tests) send to a server of the same config: the write token for writes, else the predict
    token; empty when there is none."""
    tokens = Tokens.from_config(serve)
    token = tokens.write if write else tokens.predict
    return {"Authorization": f"Bearer {token}"} if token else {}
