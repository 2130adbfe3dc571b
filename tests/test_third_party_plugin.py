"""The example third-party plugin (examples/jsonl_tracker) works through entry points alone.

The example is installed for real, with pip, into a temp directory put on ``PYTHONPATH``: its
entry points (the tracker and the config package) and its shipped ``conf/tracker/jsonl.yaml``
are what a user's ``pip install`` gives. Then a real ``bucle run tracker=[local,jsonl]``
selects it next to the built-in tracker, with no YAML copied into the project.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType

import pytest

from framework.config.compose import compose_config, group_options
from framework.errors import ConfigError
from tests.conftest import run_command

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "jsonl_tracker"
MODULE = "bucle_jsonl_tracker"


@pytest.fixture(scope="module")
def jsonl_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example installed by pip (``--target``) from a copy, so no build files land in git."""
    work = tmp_path_factory.mktemp("jsonl")
    source = shutil.copytree(EXAMPLE, work / "source")
    site = work / "site-packages"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    run_command([*pip, "--no-build-isolation", "--target", str(site), str(source)], work)
    return site


@pytest.fixture
def jsonl_env(jsonl_site: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(jsonl_site)}


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
    small_project: Path, run, jsonl_env: dict[str, str]
) -> None:
    # The option comes from the installed package's conf/tracker/jsonl.yaml: nothing in conf/.
    assert not (small_project / "conf" / "tracker").exists()
    result = run(["bucle", "run", "tracker=[local,jsonl]"], small_project, env=jsonl_env)
    runs_file = small_project / ".bucle" / "runs.jsonl"  # the shipped option's default

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
    assert params["tracker.jsonl.path"] == ".bucle/runs.jsonl"  # paths.state, relative
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
    assert end["manifest"]["config"]["tracker"]["jsonl"] == {"path": ".bucle/runs.jsonl"}


def test_the_plugins_config_composes_once_installed_and_a_project_file_replaces_it(
    jsonl_site: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=r"tracker/jsonl") as raised:
        compose_config(["tracker=[local,jsonl]"])  # not installed: one line, naming the option
    assert "\n" not in str(raised.value)

    monkeypatch.syspath_prepend(str(jsonl_site))
    assert "jsonl" in group_options("tracker")
    shipped = compose_config(["tracker=[local,jsonl]"])
    assert shipped.tracker.jsonl.path == ".bucle/runs.jsonl"
    assert shipped.tracker.local.path == ".bucle/tracking.db"

    # The project's conf/ comes first on the search path: its file of the same name wins.
    (project / "conf" / "tracker").mkdir()
    (project / "conf" / "tracker" / "jsonl.yaml").write_text("jsonl:\n  path: mine.jsonl\n")
    assert compose_config(["tracker=[local,jsonl]"]).tracker.jsonl.path == "mine.jsonl"


def test_the_installed_example_passes_its_own_tracker_contract(
    jsonl_site: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(jsonl_site)}
    tests = EXAMPLE / "tests"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b4 passed\b", result.stdout), result.stdout


def test_bucle_plugins_lists_the_jsonl_tracker_with_its_distribution(
    tmp_path: Path, run, jsonl_env: dict[str, str]
) -> None:
    output = run(["bucle", "plugins"], tmp_path, env=jsonl_env).stdout
    (tracker_section,) = [s for s in output.split("\n\n") if s.startswith("tracker (")]
    rows = {line.split()[0]: line for line in tracker_section.splitlines()[2:]}
    assert set(rows) == {"local", "mlflow", "jsonl"}, tracker_section
    assert re.fullmatch(r"\s*jsonl\s+bucle-jsonl-tracker 0\.1\.0\s+ok", rows["jsonl"]), rows
    assert re.fullmatch(r"\s*local\s+bucle 0\.1\.0\s+ok", rows["local"]), rows


# ---------------------------------------------------------------------------------------------
# The tracker class on its own
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jsonl_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(MODULE, EXAMPLE / MODULE / "__init__.py")
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


def test_a_plugin_cannot_take_the_place_of_bucles_own_options(
    tmp_path: Path, install_distribution, monkeypatch: pytest.MonkeyPatch
) -> None:
    from framework.config.plugin_conf import config_packages

    install_distribution(
        tmp_path / "site",
        "bucle-impostor",
        "1.0",
        {"impostor_conf": ""},
        {"bucle.config": {"bucle": "impostor_conf", "aaa": "impostor_conf"}},
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    packages = config_packages()
    assert packages[0] == ("bucle:bucle", "plugins.conf")  # first on the search path
    assert ("bucle-impostor:bucle", "impostor_conf") in packages[1:]
