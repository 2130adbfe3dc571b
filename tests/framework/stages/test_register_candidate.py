"""The ``candidate`` alias moves only to a better version on ``objective`` (or stays), a sweep
leaves it at its best job, and reproducing a run never moves it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace

from framework.records import ModelVersion
from framework.stages.register import candidate_decision

MAXIMIZE = SimpleNamespace(metric="roc_auc", direction="maximize")
MINIMIZE = SimpleNamespace(metric="rmse", direction="minimize")


def version(number: int, **metrics: float) -> ModelVersion:
    return ModelVersion("churn", number, "0" * 64, "2026-01-01", "run", {}, metrics)


def test_the_candidate_moves_only_to_a_strictly_better_version() -> None:
    current = version(3, roc_auc=0.9381, rmse=2.0)
    assert candidate_decision(4, {"roc_auc": 0.95}, current, MAXIMIZE, True, None)[0]
    moved, reason = candidate_decision(4, {"roc_auc": 0.9381}, current, MAXIMIZE, True, None)
    assert not moved and "0.9381 vs candidate v3 0.9381" in reason and "stays" in reason
    assert not candidate_decision(4, {"roc_auc": 0.99}, current, MAXIMIZE, False, None)[0]
    assert candidate_decision(4, {"rmse": 1.5}, current, MINIMIZE, True, None)[0]
    assert not candidate_decision(4, {"rmse": 2.5}, current, MINIMIZE, True, None)[0]
    assert candidate_decision(1, {"roc_auc": 0.5}, None, MAXIMIZE, True, None) == (
        True,
        "no candidate yet",
    )
    moved, reason = candidate_decision(4, {"roc_auc": 0.99}, current, MAXIMIZE, True, "run-1")
    assert not moved and "reproducing never moves an alias" in reason


def candidate(project: Path) -> int | None:
    with sqlite3.connect(project / ".bucle" / "registry.db") as db:
        row = db.execute(
            "SELECT version FROM aliases WHERE name = 'churn' AND alias = 'candidate'"
        ).fetchone()
    return row[0] if row else None


def test_a_sweep_leaves_the_candidate_at_its_best_and_reproducing_never_moves_it(
    small_project: Path, run
) -> None:
    # The better job first: before, the last job that passed the gate took the alias.
    run(["bucle", "run", "-m", "model.C=1.0,0.002"], small_project)
    (sweep,) = (small_project / "outputs" / "sweeps").glob("*/*")
    best = json.loads((sweep / "best_run.json").read_text())
    jobs = {
        json.loads(p.read_text())["run_id"]: json.loads(
            (p.parent / "reports" / "registration.json").read_text()
        )
        for p in sweep.rglob("bucle_run.json")
    }
    winner = jobs[best["best"]["run_id"]]
    loser = next(job for run_id, job in jobs.items() if run_id != best["best"]["run_id"])
    assert candidate(small_project) == winner["version"] == best["registration"]["version"]
    assert len(jobs) == 2 and all(job["gate_passed"] for job in jobs.values())
    assert (
        loser["promoted_to"] is None
        and "not better on the objective" in (loser["candidate"]["reason"])
    )

    result = run(["bucle", "runs", "reproduce", loser["run_id"]], small_project)
    assert candidate(small_project) == winner["version"]
    assert "reproducing never moves an alias" in result.stderr
