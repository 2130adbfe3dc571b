"""The traffic router: which model answers a request under the basic, shadow or canary strategy.

The strategy lives in the ``deploy`` config section, because it is a property of the deployment,
not of the model: ``deploy.strategy`` names it, ``deploy.challenger_alias`` names the alias
whose version runs beside ``serve.alias`` (``bucle release`` moves it after smoke tests), and
``deploy.canary_fraction`` is the challenger's share of requests under canary.

- ``basic``: the served alias answers everything; no challenger is loaded.
- ``shadow``: the served alias answers; the challenger predicts the same records in parallel and
  its answers are logged and compared, never returned.
- ``canary``: the challenger answers the requests whose id hashes below ``canary_fraction``.

A canary choice is a pure function of the request key the server issues (:func:`canary_share`),
and every recorded id carries that key (:func:`routing_key`), so anyone holding a logged id can
tell which model answered it. Clients cannot choose the key: a client's ``X-Request-ID`` is
kept apart and steers nothing. When the challenger alias is unset, or names the served
version, every strategy behaves like basic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from framework.errors import ConfigError

STRATEGIES = ("basic", "shadow", "canary")


@dataclass(frozen=True)
class TrafficStrategy:
    """How production and the challenger share traffic (``deploy.strategy`` and friends)."""

    name: str = "basic"
    challenger_alias: str = "staging"
    canary_fraction: float = 0.1

    @classmethod
    def from_config(cls, deploy: Any) -> TrafficStrategy:
        """Read and check the strategy keys of a ``deploy`` section; absent keys default."""
        deploy = deploy or {}
        name = str(deploy.get("strategy", cls.name))
        if name not in STRATEGIES:
            from framework.errors import did_you_mean

            raise ConfigError(
                f"deploy.strategy={name!r} is not a strategy; use one of "
                f"{', '.join(STRATEGIES)}{did_you_mean(name, STRATEGIES)}"
            )
        challenger = str(deploy.get("challenger_alias", cls.challenger_alias))
        if challenger not in ("candidate", "staging"):
            raise ConfigError(
                f"deploy.challenger_alias={challenger!r} must be 'staging' (what `bucle release` "
                "moves after smoke tests) or 'candidate' (what the register stage moves)"
            )
        raw_fraction = deploy.get("canary_fraction", cls.canary_fraction)
        try:
            fraction = float(raw_fraction)
        except (TypeError, ValueError):
            fraction = -1.0
        if not 0.0 <= fraction <= 1.0:
            raise ConfigError(
                f"deploy.canary_fraction={raw_fraction!r} must be a share between 0 and 1 "
                "(0.1 sends a tenth of requests to the challenger)"
            )
        return cls(name, challenger, fraction)

    @property
    def uses_challenger(self) -> bool:
        return self.name != "basic"


def serving_strategy(cfg: Any) -> TrafficStrategy:
    """The strategy of a whole config: its ``deploy`` keys, checked against ``serve.alias``."""
    strategy = TrafficStrategy.from_config(cfg.get("deploy"))
    if strategy.uses_challenger and strategy.challenger_alias == str(cfg.serve.alias):
        raise ConfigError(
            f"deploy.challenger_alias={strategy.challenger_alias!r} is the served alias "
            "(serve.alias); the challenger must be another alias"
        )
    return strategy


def routing_key(request_id: str) -> str:
    """The key a recorded request id was routed by: the id without its ``-<index>`` suffix
    (``canary_share(routing_key(id))`` replays the canary choice of a logged row)."""
    return request_id.rsplit("-", 1)[0]


def canary_share(request_key: str) -> float:
    """A number in [0, 1) fixed by ``request_key``: the request goes to the canary below the
    configured fraction. sha256 rather than ``hash()``, which Python salts per process."""
    digest = hashlib.sha256(request_key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass(frozen=True)
class Route:
    """The models one request uses: who answers, and who shadows (None under basic/canary)."""

    answering: Any
    alias: str
    shadow: Any = None


class Router:
    """Chooses the answering (and shadowing) model for each request from two model slots."""

    def __init__(self, strategy: TrafficStrategy, primary: Any, challenger: Any = None) -> None:
        self.strategy = strategy
        self.primary = primary
        self.challenger = challenger

    def live_challenger(self, primary_model: Any) -> Any:
        """The challenger's loaded model when it differs from the served version, else None."""
        if self.challenger is None or primary_model is None:
            return None
        model = self.challenger.current
        if model is None or (model.number, model.sha256) == (
            primary_model.number,
            primary_model.sha256,
        ):
            return None
        return model

    def route(self, request_key: str) -> Route:
        """Take each slot's current model once, so the whole request sees one snapshot."""
        primary = self.primary.current
        challenger = self.live_challenger(primary)
        if challenger is None:
            return Route(primary, self.primary.alias)
        if self.strategy.name == "shadow":
            return Route(primary, self.primary.alias, shadow=challenger)
        if canary_share(request_key) < self.strategy.canary_fraction:
            return Route(challenger, self.challenger.alias)
        return Route(primary, self.primary.alias)

    def traffic(self) -> dict[str, Any]:
        """The split ``/model`` shows: each alias' share of answers, and who shadows."""
        primary = self.primary.current
        challenger = self.live_challenger(primary)
        served = self.primary.alias
        if challenger is None:
            return {"answers": {served: 1.0}, "shadow": None}
        if self.strategy.name == "shadow":
            return {"answers": {served: 1.0}, "shadow": self.challenger.alias}
        fraction = self.strategy.canary_fraction
        return {
            "answers": {served: round(1.0 - fraction, 6), self.challenger.alias: fraction},
            "shadow": None,
        }
