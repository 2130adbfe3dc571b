"""The retraining triggers: read the latest monitor report and the production version's age.

Each trigger is a threshold in ``retrain.triggers`` (null switches it off) and says, when it
fires, why in words, so the retraining record and the output explain themselves:

- ``drift_share``: the share of drifted input columns in the report reaches the threshold;
- ``performance_drop``: the performance monitor found a watched metric down by more than the
  threshold (and by more than chance, which that monitor already requires);
- ``max_age_days``: the production version was registered longer ago than this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from framework.evaluation.regression import LOWER_IS_BETTER


@dataclass(frozen=True)
class Trigger:
    name: str
    reason: str


def fired_triggers(
    triggers: Any, report: dict[str, Any] | None, created_at: str | None, now: datetime | None
) -> list[Trigger]:
    """Every trigger the report and the model's age fire."""
    fired = []
    monitors = {m["monitor"]: m for m in (report or {}).get("monitors", [])}
    drift = monitors.get("drift")
    share_limit = triggers.get("drift_share")
    if share_limit is not None and drift is not None:
        share = (drift.get("metrics") or {}).get("drift_share")
        if share is not None and share >= float(share_limit):
            named = ", ".join((drift["metrics"].get("drifted_columns") or [])[:5])
            fired.append(
                Trigger(
                    "drift_share",
                    f"{share:.0%} of input columns drifted ({named}), at least "
                    f"retrain.triggers.drift_share={float(share_limit):g}",
                )
            )
    drop_limit = triggers.get("performance_drop")
    performance = monitors.get("performance")
    if drop_limit is not None and performance is not None:
        drops = [
            d
            for d in performance.get("details") or []
            if d.get("finding") and d.get("drop") is not None and d["drop"] > float(drop_limit)
        ]
        if drops:
            said = ", ".join(
                f"{d['metric']} {'up' if d['metric'] in LOWER_IS_BETTER else 'down'} "
                f"{d['drop']:.3f}"
                for d in drops
            )
            fired.append(
                Trigger(
                    "performance_drop",
                    f"{said} on labelled traffic, more than "
                    f"retrain.triggers.performance_drop={float(drop_limit):g}",
                )
            )
    age_limit = triggers.get("max_age_days")
    if age_limit is not None and created_at:
        born = datetime.fromisoformat(created_at)
        born = born if born.tzinfo else born.replace(tzinfo=UTC)
        age = ((now or datetime.now(UTC)) - born).total_seconds() / 86_400
        if age > float(age_limit):
            fired.append(
                Trigger(
                    "max_age_days",
                    f"the production version is {age:.1f} days old, more than "
                    f"retrain.triggers.max_age_days={float(age_limit):g}",
                )
            )
    return fired
