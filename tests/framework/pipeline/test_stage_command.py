"""``bucle stage NAME``, as dvc.yaml runs it: stage by stage, one tracked run at register."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

STAGES = ["ingest", "validate", "featurize", "train", "evaluate", "register"]


def test_stages_run_one_by_one_and_register_is_idempotent(small_project: Path, run) -> None:
    for stage in STAGES:
        run(["bucle", "stage", stage], small_project)
    first = json.loads((small_project / "reports" / "registration.json").read_text())
    card = (small_project / "reports" / "model_card.md").read_text()
    run(["bucle", "stage", "register"], small_project)
    again = json.loads((small_project / "reports" / "registration.json").read_text())
    assert first["version"] == again["version"] == 1
    assert first["sha256"] == again["sha256"]
    # The version keeps the card it was registered with, in the store and in reports/.
    assert first["model_card_sha256"] == again["model_card_sha256"]
    assert (small_project / "reports" / "model_card.md").read_text() == card
    assert run(["bucle", "models", "card", "1"], small_project).stdout == card
    assert "churn  1" in run(["bucle", "models", "list"], small_project).stdout

    with sqlite3.connect(small_project / ".bucle" / "tracking.db") as db:
        statuses = [row[0] for row in db.execute("SELECT status FROM runs")]
    assert statuses == ["finished", "finished"], "each register run records the pipeline run"
    shown = run(["bucle", "models", "show", "1"], small_project).stdout
    lineage = json.loads(shown)["lineage"]
    assert lineage["data_sha256"] and lineage["config_sha256"] and lineage["git_commit"]


def test_a_stage_without_its_input_says_which_stage_to_run(small_project: Path, run) -> None:
    result = run(["bucle", "stage", "train"], small_project, check=False)
    assert result.returncode == 1
    assert "run `bucle stage featurize`" in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_unknown_stage_suggests_the_closest(small_project: Path, run) -> None:
    result = run(["bucle", "stage", "trian"], small_project, check=False)
    assert "did you mean 'train'?" in result.stderr


def test_a_failed_stage_shows_none_of_an_earlier_models_metrics_or_hash(
    small_project: Path, run
) -> None:
    """Under `dvc repro` the files of the last good run stay in reports/ and models/: a run
    that fails before writing its own must not be recorded with them."""
    for stage in STAGES:
        run(["bucle", "stage", stage], small_project)
    model_sha = json.loads((small_project / "reports" / "registration.json").read_text())["sha256"]
    params = small_project / "params.yaml"
    assert "max_bad_share: 0.05" in params.read_text()
    params.write_text(params.read_text().replace("max_bad_share: 0.05", "max_bad_share: 0.0"))
    assert run(["bucle", "stage", "validate"], small_project, check=False).returncode != 0

    with sqlite3.connect(small_project / ".bucle" / "tracking.db") as db:
        (failed,) = [row[0] for row in db.execute("SELECT run_id FROM runs WHERE status='failed'")]
    shown = run(["bucle", "runs", "show", failed], small_project).stdout
    assert f"{failed}  (failed)" in shown
    metrics, artifacts = shown.split("\nmetrics\n")[1].split("\nparams\n")[0].split("\nartifacts")
    assert "validate." in metrics  # its own validation report is its own
    assert "roc_auc" not in metrics
    assert "model" not in artifacts and model_sha[:16] not in shown
