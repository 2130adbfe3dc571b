"""The example third-party plugin (examples/jsonl_tracker) works through entry points alone.

It is "installed" without pip: its module and a ``dist-info`` directory built from its own
pyproject.toml go into a temp directory on ``PYTHONPATH``, which is all ``importlib.metadata``
needs to find an entry point. Then a real ``bucle run`` selects it next to the built-in tracker.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
import threading
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "jsonl_tracker"
MODULE = "bucle_jsonl_tracker"


@pytest.fixture
def jsonl_env(tmp_path: Path, install_distribution) -> dict[str, str]:
    """The example laid out as an installed distribution, from its own pyproject.toml."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    source = (EXAMPLE / f"{MODULE}.py").read_text()
    return install_distribution(
        tmp_path / "site-packages",
        project["name"],
        project["version"],
        {MODULE: source},
        project["entry-points"],
    )


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def local_run(project: Path) -> dict:
    """The one run the built-in ``local`` tracker recorded, read straight from its sqlite file."""
    with sqlite3.connect(project / ".bucle" / "tracking.db") as db:
        runs = db.execute("SELECT run_id, status, manifest FROM runs").fetchall()
        assert len(runs) == 1, runs
        run_id, status, manifest = runs[0]
        params = {
            key: json.loads(value)
            for key, value in db.execute(
                "SELECT key, value FROM params WHERE run_id = ?", (run_id,)
            )
        }
        metrics = dict(db.execute("SELECT key, value FROM metrics WHERE run_id = ?", (run_id,)))
        artifacts = dict(
            db.execute("SELECT name, sha256 FROM artifacts WHERE run_id = ?", (run_id,))
        )
    return {
        "run_id": run_id,
        "status": status,
        "manifest": json.loads(manifest),
        "params": params,
        "metrics": metrics,
        "artifacts": artifacts,
    }


def test_jsonl_tracker_records_the_same_run_as_the_local_tracker(
    small_project: Path, run, jsonl_env: dict[str, str], tmp_path: Path
) -> None:
    runs_file = tmp_path / "tracking" / "nested" / "runs.jsonl"  # parents do not exist yet
    result = run(["bucle", "run", f"+tracker.jsonl.path={runs_file}"], small_project, env=jsonl_env)

    local = local_run(small_project)
    assert local["status"] == "finished"
    assert f"run {local['run_id']} finished" in result.stderr
    events = read_events(runs_file)
    assert {event["run_id"] for event in events} == {local["run_id"]}
    kinds = [event["event"] for event in events]
    assert kinds[0] == "start_run" and kinds[-1] == "end_run", kinds
    assert kinds.count("start_run") == kinds.count("log_params") == kinds.count("end_run") == 1
    assert events[0]["project"] == "churn"

    (params,) = [event["params"] for event in events if event["event"] == "log_params"]
    assert params["model._target_"] == "sklearn.linear_model.LogisticRegression"
    assert params["seed"] == 42
    assert params["tracker.jsonl.path"] == str(runs_file)
    assert params == local["params"]

    metrics: dict[str, float] = {}
    for event in events:
        if event["event"] == "log_metrics":
            metrics.update(event["metrics"])  # a later value for the same name overwrites
    assert 0.5 < metrics["roc_auc"] <= 1.0
    assert {"accuracy", "f1", "validate.bad_share"} <= set(metrics)
    assert metrics == pytest.approx(local["metrics"])

    artifacts = {e["name"]: e["sha256"] for e in events if e["event"] == "log_artifact"}
    assert "model" in artifacts
    assert artifacts == local["artifacts"]

    end = events[-1]
    assert end["status"] == "finished"
    assert end["manifest"] == local["manifest"]
    assert end["manifest"]["config"]["tracker"]["jsonl"] == {"path": str(runs_file)}


def test_bucle_plugins_lists_the_jsonl_tracker_with_its_distribution(
    tmp_path: Path, run, jsonl_env: dict[str, str]
) -> None:
    output = run(["bucle", "plugins"], tmp_path, env=jsonl_env).stdout
    (tracker_section,) = [s for s in output.split("\n\n") if s.startswith("tracker (")]
    rows = {line.split()[0]: line for line in tracker_section.splitlines()[2:]}
    assert set(rows) == {"local", "jsonl"}, tracker_section
    assert re.fullmatch(r"\s*jsonl\s+bucle-jsonl-tracker 0\.1\.0\s+ok", rows["jsonl"]), rows
    assert re.fullmatch(r"\s*local\s+bucle 0\.1\.0\s+ok", rows["local"]), rows


# ---------------------------------------------------------------------------------------------
# The tracker class on its own
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jsonl_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(MODULE, EXAMPLE / f"{MODULE}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_jsonl_tracker_satisfies_the_hook_specs(jsonl_module: ModuleType, tmp_path: Path) -> None:
    from framework.hooks.host import ROLES, PluginHost
    from framework.records import RunInfo

    host = PluginHost()
    tracker = jsonl_module.JsonlTracker(path=str(tmp_path / "runs.jsonl"))
    host.add(ROLES["tracker"], "jsonl", tracker)  # pluggy checks every hookimpl's arguments
    host.manager.check_pending()
    host.hook.start_run(run=RunInfo("r1", "churn", "2026-01-01T00:00:00+00:00", {"a": "b"}))
    host.hook.log_params(run_id="r1", params={"model.C": 0.5})
    host.hook.log_metrics(run_id="r1", metrics={"roc_auc": 0.75})
    host.hook.log_artifact(run_id="r1", name="model", path=tmp_path / "m.skops", sha256="ab" * 32)
    host.hook.end_run(run_id="r1", status="finished", manifest={"seed": 42})

    events = read_events(tmp_path / "runs.jsonl")
    assert [e["event"] for e in events] == [
        "start_run",
        "log_params",
        "log_metrics",
        "log_artifact",
        "end_run",
    ]
    assert events[0]["tags"] == {"a": "b"} and events[0]["started_at"].startswith("2026-01-01")
    assert events[1]["params"] == {"model.C": 0.5}
    assert events[2]["metrics"] == {"roc_auc": 0.75}
    assert events[3]["path"] == str(tmp_path / "m.skops") and events[3]["sha256"] == "ab" * 32
    assert events[4]["status"] == "finished" and events[4]["manifest"] == {"seed": 42}


def test_concurrent_writers_never_interleave_inside_a_line(
    jsonl_module: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "runs.jsonl"
    # Lines far longer than any I/O buffer, so a write split in pieces would show.
    params = {f"key_{i}": "x" * 200 for i in range(200)}

    def writer(number: int) -> None:
        tracker = jsonl_module.JsonlTracker(path=str(path))
        for _ in range(25):
            tracker.log_params(run_id=f"run-{number}", params=params)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    events = read_events(path)  # every line parses on its own
    assert len(events) == 8 * 25
    assert all(event["params"] == params for event in events)
    assert sorted({event["run_id"] for event in events}) == [f"run-{n}" for n in range(8)]
