"""The gate against production: a retrained model replaces production only when clearly better.

"Clearly" is ``retrain.min_improvement``: an exact tie (0.9381 vs 0.9381) or a gain smaller than
the margin is noise, and promoting on noise churns production on every scheduler retry.
"""

from __future__ import annotations

from framework.errors import ConfigError
from framework.evaluation.regression import LOWER_IS_BETTER


def check_margin(margin: float) -> float:
    """``retrain.min_improvement`` as a number, refused when negative."""
    if margin < 0:
        raise ConfigError(
            f"retrain.min_improvement={margin:g} is negative, which would promote a worse model; "
            "set it to 0 or more (e.g. retrain.min_improvement=0.001)"
        )
    return margin


def beats_production(retrained: float, production: float, metric: str, margin: float) -> bool:
    """Whether the retrained model improves on production by at least ``margin`` (and at all).

    An error metric (RMSE, MAE, MAPE) must fall, a score must rise; never on a tie, even with
    ``margin`` 0.
    """
    check_margin(margin)
    gain = production - retrained if metric in LOWER_IS_BETTER else retrained - production
    return gain > 0 and gain >= margin
