"""``bucle runs list | show | compare | reproduce`` on runs the real pipeline recorded."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def run_ids(project: Path) -> list[str]:
    with sqlite3.connect(project / ".bucle" / "tracking.db") as db:
        return [row[0] for row in db.execute("SELECT run_id FROM runs ORDER BY started_at")]


def test_list_show_and_compare_runs(small_project: Path, run) -> None:
    run(["bucle", "run"], small_project)
    run(["bucle", "run", "model=random_forest", "model.n_estimators=50"], small_project)
    first, second = run_ids(small_project)

    listing = run(["bucle", "runs", "list"], small_project).stdout
    assert first in listing and second in listing
    assert "RandomForestClassifier" in listing and "LogisticRegression" in listing

    shown = run(["bucle", "runs", "show", second], small_project).stdout
    assert "roc_auc" in shown and "model.n_estimators" in shown and "finished" in shown

    compared = run(["bucle", "runs", "compare", first, second], small_project).stdout
    assert "model._target_" in compared and "model.n_estimators" in compared
    assert "seed" not in [line.split()[0] for line in compared.splitlines() if line.strip()]


def test_unknown_run_is_one_line(small_project: Path, run) -> None:
    run(["bucle", "run"], small_project)
    result = run(["bucle", "runs", "show", "nope"], small_project, check=False)
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "bucle: error: no run 'nope' in the tracker; see `bucle runs list`"
    )


def test_reproduce_reruns_from_the_stored_config_and_matches(small_project: Path, run) -> None:
    run(["bucle", "run", "seed=3"], small_project)
    (original,) = run_ids(small_project)
    # The project's config changes afterwards: reproduce must use the stored config alone.
    params = small_project / "params.yaml"
    params.write_text(params.read_text().replace("seed: 42", "seed: 99"))

    result = run(["bucle", "runs", "reproduce", original], small_project)
    assert "reproduced: every metric matches" in result.stdout
    assert "bit-identical" in result.stdout  # the model's sha256 is the original's
    assert len(run_ids(small_project)) == 2
    # The same bytes are the same version: registering them again adds none.
    versions = [
        line for line in run(["bucle", "models", "list"], small_project).stdout.splitlines()
    ]
    assert len([line for line in versions if line.startswith("churn ")]) == 1, versions


def test_reproduce_says_when_metrics_match_but_the_model_bytes_differ(
    small_project: Path, run
) -> None:
    run(["bucle", "run"], small_project)
    (original,) = run_ids(small_project)
    with sqlite3.connect(small_project / ".bucle" / "tracking.db") as db:
        db.execute("UPDATE artifacts SET sha256 = ? WHERE name = 'model'", ("0" * 64,))
    result = run(["bucle", "runs", "reproduce", original], small_project)
    assert "every metric matches" in result.stdout
    assert "model bytes differ" in result.stdout and "bit-identical" not in result.stdout


def test_reproduce_reports_a_mismatch(small_project: Path, run) -> None:
    run(["bucle", "run"], small_project)
    (original,) = run_ids(small_project)
    with sqlite3.connect(small_project / ".bucle" / "tracking.db") as db:
        db.execute("UPDATE metrics SET value = 0.123 WHERE key = 'roc_auc'")
    result = run(["bucle", "runs", "reproduce", original], small_project, check=False)
    assert result.returncode == 1
    assert "NOT reproduced" in result.stdout


def tamper_model(project: Path, run_id: str, model: dict) -> None:
    """Rewrite the model section of a tracked run's stored config, as an attacker with the db."""
    import json

    with sqlite3.connect(project / ".bucle" / "tracking.db") as db:
        (text,) = db.execute("SELECT manifest FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        manifest = json.loads(text)
        manifest["config"]["model"] = model
        db.execute("UPDATE runs SET manifest = ? WHERE run_id = ?", (json.dumps(manifest), run_id))


def test_reproduce_refuses_a_target_no_model_option_declares(small_project: Path, run) -> None:
    """A stored record is data: its ``model._target_`` (or a nested one) must not run code."""
    run(["bucle", "run"], small_project)
    (original,) = run_ids(small_project)
    marker = small_project / "side-effect"
    tampered = {
        "os.makedirs": {"_target_": "os.makedirs", "name": str(marker)},
        "os.mkdir": {
            "_target_": "sklearn.linear_model.LogisticRegression",
            "C": {"_target_": "os.mkdir", "path": str(marker)},
        },
    }
    for target, model in tampered.items():
        tamper_model(small_project, original, model)
        result = run(["bucle", "runs", "reproduce", original], small_project, check=False)
        assert not marker.exists(), f"{target} ran from the stored record"
        assert result.returncode != 0
        error = result.stderr.strip()
        assert error.startswith("bucle: error:") and "\n" not in error, error
        assert f"'{target}'" in error and "model option" in error, error
    assert len(run_ids(small_project)) == 1  # refused before a run started


def recorded_running(database: Path) -> bool:
    """Whether the tracker has a running run yet (its tables may still be being created)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            return db.execute("SELECT 1 FROM runs WHERE status = 'running'").fetchone() is not None
    except sqlite3.OperationalError:
        return False


def test_a_run_killed_mid_way_is_shown_interrupted(small_project: Path, run) -> None:
    import os
    import re
    import signal
    import subprocess
    import time

    process = subprocess.Popen(
        ["bucle", "run", "model=random_forest", "model.n_estimators=300"],
        cwd=small_project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = small_project / ".bucle" / "tracking.db"
    while process.poll() is None:  # wait until the run is recorded as running, then kill it
        if database.is_file() and recorded_running(database):
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    (killed,) = run_ids(small_project)
    listing = run(["bucle", "runs", "list"], small_project).stdout
    assert re.search(rf"^{killed}\s+interrupted\s", listing, re.MULTILINE), listing
    shown = run(["bucle", "runs", "show", killed], small_project).stdout
    assert f"{killed}  (interrupted)" in shown
