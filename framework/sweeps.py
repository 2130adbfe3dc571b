"""Sweeps: the metric a run returns to Hydra's sweeper, and the best run of a multirun recorded.

``bucle run -m`` runs one pipeline per job, under any Hydra sweeper (the basic grid, Optuna) and
any launcher (local, joblib, Ray, Submitit). Each job writes ``bucle_run.json`` in its output
directory (run id, overrides, metrics, the objective's value) and returns that value, which is
what an optimising sweeper such as Optuna reads. When the multirun ends,
:class:`BestRunRecorder`, a Hydra callback in ``conf/config.yaml``, reads those files from the
sweep directory (so it works whichever process or machine ran each job, as long as they share the
directory) and writes ``best_run.json`` next to them: which tracked run won and with what config.

The ``candidate`` alias needs no step here: each job's register stage moves it only to a version
better on the same ``objective`` than the current candidate, under a lock, so when the sweep ends
it points at the sweep's best job (if that job passed the gate and beats the candidate the sweep
started with). ``best_run.json`` records the best job's version and that decision.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from framework.errors import ConfigError

RESULT_FILE = "bucle_run.json"
BEST_FILE = "best_run.json"
DIRECTIONS = ("maximize", "minimize")


def objective_value(metrics: dict[str, Any], metric: str, required: bool) -> float | None:
    """The objective's value in ``metrics``; a ConfigError when a sweeper needs it and it is
    missing, naming the metrics the run did produce."""
    value = metrics.get(metric)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if required:
        available = ", ".join(sorted(k for k, v in metrics.items() if isinstance(v, int | float)))
        raise ConfigError(
            f"objective.metric={metric!r} is not a metric this run produced; set "
            f"objective.metric to one of: {available}"
        )
    return None


def check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise ConfigError(
            f"objective.direction={direction!r} is not a direction; use maximize or minimize"
        )
    return direction


def best_result(results: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    """The result with the best objective value (the first of equals); None when none has one."""
    scored = [result for result in results if result.get("value") is not None]
    if not scored:
        return None
    sign = 1.0 if check_direction(direction) == "maximize" else -1.0
    return max(scored, key=lambda result: sign * result["value"])


def _callback_base() -> type:
    from hydra.experimental.callback import Callback

    return Callback


class BestRunRecorder(_callback_base()):  # type: ignore[misc]
    """Hydra callback: at the end of a multirun, write and print the best job's run."""

    def __init__(self, metric: str = "roc_auc", direction: str = "maximize") -> None:
        self.metric = metric
        self.direction = check_direction(direction)

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        from framework.files import write_text

        sweep_dir = Path(config.hydra.sweep.dir)
        paths = sorted(sweep_dir.rglob(RESULT_FILE))
        results = [json.loads(path.read_text()) for path in paths]
        best = best_result(results, self.direction)
        if best is None:
            print(f"sweep: no job reported {self.metric}; no best run recorded", file=sys.stderr)
            return
        registration = best_registration(paths[results.index(best)])
        record = {
            "metric": self.metric,
            "direction": self.direction,
            "jobs": len(results),
            "best": best,
            "registration": registration,
        }
        write_text(sweep_dir / BEST_FILE, json.dumps(record, indent=2, sort_keys=True) + "\n")
        print(
            f"sweep: best of {len(results)} runs is {best['run_id']} with {self.metric}="
            f"{best['value']:.4f} ({' '.join(best['overrides']) or 'defaults'}); "
            f"recorded in {sweep_dir / BEST_FILE}",
            file=sys.stderr,
        )


def best_registration(result_path: Path) -> dict[str, Any] | None:
    """The best job's version and what happened to ``candidate``, from its registration.json."""
    path = result_path.parent / "reports" / "registration.json"
    try:
        registration = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    keys = ("model", "version", "gate_passed", "promoted_to", "candidate")
    return {key: registration.get(key) for key in keys}
