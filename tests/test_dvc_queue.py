"""DVC's run queue and a pulled project, under the real ``dvc``, keep the project's Bucle state.

Queued experiments (``dvc exp run --queue`` then ``--run-all``) run in a temporary workspace under
``.dvc/tmp/exps/``; their runs and model versions must land in the project's ``.bucle/``, not in
the workspace DVC deletes afterwards. A fresh clone plus ``dvc pull`` has the outputs but an empty
registry: ``bucle stage register`` registers what was pulled.

One module-scoped baseline (the example project with a 600-row table, reproduced and committed)
is built once; each test works on its own copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from framework.config.compose import load_params
from framework.pipeline.workspace import DVC_ROOT, anchor_state, stage_config, state_base
from tests.conftest import ROOT, copy_project, run_command, shrink_table

SMALL_ROWS = 600
#: Bound on any one DVC command (the queue runs two experiments of three stages each).
TIMEOUT_SECONDS = 900
VERSION_ROW = re.compile(r"^churn\s+(\d+)\s.*\s([0-9a-f]{12})\s*$", re.MULTILINE)
RUN_ROW = re.compile(r"^(\d{8}-\d{6}-[0-9a-f]{6})\s+(\w+)", re.MULTILINE)


def bounded(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command that must finish within :data:`TIMEOUT_SECONDS` and succeed."""
    result = subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, (
        f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result


def versions(path: Path, env: dict[str, str]) -> dict[int, str]:
    """Version number -> artifact sha256 (first 12 hex digits), as ``bucle models list`` shows
    every registered ``churn`` version."""
    listing = run_command(["bucle", "models", "list"], path, env).stdout
    return {int(number): sha for number, sha in VERSION_ROW.findall(listing)}


def tracked_runs(path: Path, env: dict[str, str]) -> dict[str, str]:
    """Run id -> status, as ``bucle runs list`` shows the project's runs."""
    listing = run_command(["bucle", "runs", "list"], path, env).stdout
    return dict(RUN_ROW.findall(listing))


def sha256(file: Path) -> str:
    """The first 12 hex digits of the file's sha256, as listings show it."""
    return hashlib.sha256(file.read_bytes()).hexdigest()[:12]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("dvc-queue")
    env = {"DVC_SITE_CACHE_DIR": str(root / "dvc-site-cache")}
    path = copy_project(root / "baseline")
    shrink_table(path, SMALL_ROWS)
    run_command(["git", "add", "-A"], path, env)
    run_command(["git", "commit", "-q", "-m", "smaller table"], path, env)
    bounded(["dvc", "repro"], path, env)
    run_command(["git", "add", "-A"], path, env)
    run_command(["git", "commit", "-q", "-m", "baseline outputs"], path, env)
    return path, env


@pytest.fixture
def workspace(baseline: tuple[Path, dict[str, str]], tmp_path: Path) -> Path:
    """A private copy of the reproduced, committed baseline (git, DVC cache, .bucle/ state)."""
    return shutil.copytree(baseline[0], tmp_path / "project", symlinks=True)


@pytest.mark.slow
def test_queued_experiments_are_tracked_and_registered_in_the_project(
    baseline: tuple[Path, dict[str, str]], workspace: Path
) -> None:
    env = baseline[1]
    before_runs = tracked_runs(workspace, env)
    before = versions(workspace, env)
    assert len(before) == 1 and len(before_runs) == 1, (before, before_runs)

    for value in ("0.05", "0.2"):
        bounded(["dvc", "exp", "run", "--queue", "-S", f"model.C={value}"], workspace, env)
    bounded(["dvc", "exp", "run", "--run-all", "-j", "1"], workspace, env)
    shown = json.loads(bounded(["dvc", "exp", "show", "--json"], workspace, env).stdout)
    experiments = [
        experiment["name"]
        for entry in shown
        for experiment in entry.get("experiments") or []
        if experiment.get("name")
    ]
    assert len(experiments) == 2, json.dumps(shown)[:2000]

    after_runs = tracked_runs(workspace, env)
    new_runs = {
        run_id: status for run_id, status in after_runs.items() if run_id not in before_runs
    }
    assert len(new_runs) == 2, after_runs
    assert set(new_runs.values()) == {"finished"}, new_runs
    after = versions(workspace, env)
    assert len(after) == 3, after  # C=0.05 and C=0.2 give two new models
    assert not list((workspace / ".dvc" / "tmp").rglob(".bucle")), "state left in a temp workspace"
    # Only the state moved: the project's own outputs are still the baseline's.
    assert sha256(workspace / "models" / "model.skops") == before[1]

    # The winner, applied to the workspace, is already a registered version.
    bounded(["dvc", "exp", "apply", experiments[0]], workspace, env)
    assert sha256(workspace / "models" / "model.skops") in set(after.values()) - {before[1]}
    repro = bounded(["dvc", "repro"], workspace, env)
    assert "Running stage" not in repro.stdout, repro.stdout
    bounded(["bucle", "stage", "register"], workspace, env)  # the same bytes: the same version
    assert versions(workspace, env) == after


@pytest.mark.slow
def test_a_fresh_clone_registers_what_it_pulled(
    baseline: tuple[Path, dict[str, str]], workspace: Path, tmp_path: Path
) -> None:
    env = baseline[1]
    remote = tmp_path / "remote"
    bounded(["dvc", "remote", "add", "-d", "local", str(remote)], workspace, env)
    run_command(["git", "commit", "-q", "-am", "a DVC remote"], workspace, env)
    bounded(["dvc", "push"], workspace, env)
    model_sha = sha256(workspace / "models" / "model.skops")

    clone = tmp_path / "clone"
    run_command(["git", "clone", "-q", str(workspace), str(clone)], tmp_path, env)
    bounded(["dvc", "pull"], clone, env)
    assert sha256(clone / "models" / "model.skops") == model_sha
    assert versions(clone, env) == {}, "a fresh clone starts with an empty registry"

    result = bounded(["bucle", "stage", "register"], clone, env)
    assert versions(clone, env) == {1: model_sha}, result.stderr
    runs = tracked_runs(clone, env)
    assert list(runs.values()) == ["finished"], runs
    shown = json.loads(run_command(["bucle", "models", "show", "1"], clone, env).stdout)
    head = run_command(["git", "rev-parse", "HEAD"], clone, env).stdout.strip()
    assert shown["run_id"] == next(iter(runs)), shown
    assert shown["lineage"]["git_commit"] == head, shown["lineage"]
    card = (clone / "reports" / "model_card.md").read_text()
    assert "churn" in card
    # Registering changes no DVC output and no committed file.
    status = bounded(["dvc", "status"], clone, env)
    assert "up to date" in status.stdout + status.stderr, status.stdout
    assert run_command(["git", "status", "--porcelain"], clone, env).stdout == ""

    again = bounded(["bucle", "stage", "register"], clone, env)
    assert versions(clone, env) == {1: model_sha}, again.stderr
    repro = bounded(["dvc", "repro"], clone, env)
    assert "Running stage" not in repro.stdout, repro.stdout  # nothing retrained


def test_a_relative_state_moves_to_the_project_and_outputs_stay(tmp_path: Path) -> None:
    """Every path under ``paths.state`` (tracker, registry, store, deploy) follows it."""
    cfg = load_params(ROOT / "params.yaml")
    anchored = anchor_state(cfg, tmp_path)
    assert anchored.paths.state == str(tmp_path / ".bucle")
    assert anchored.tracker.local.path == str(tmp_path / ".bucle" / "tracking.db")
    assert anchored.registry.path == str(tmp_path / ".bucle" / "registry.db")
    assert anchored.store.root == str(tmp_path / ".bucle" / "artifacts")
    assert anchored.deploy.state == str(tmp_path / ".bucle" / "deploy")
    for name in ("data", "models", "reports", "work"):
        assert anchored.paths[name] == cfg.paths[name]
    assert cfg.paths.state == ".bucle"  # the given config is left as it was


def test_an_absolute_state_is_kept(tmp_path: Path) -> None:
    cfg = load_params(ROOT / "params.yaml")
    cfg.paths.state = str(tmp_path / "elsewhere")
    assert anchor_state(cfg, tmp_path / "project") is cfg


def test_the_state_base_is_dvc_root_only_inside_a_temporary_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    temporary = project / ".dvc" / "tmp" / "exps" / "tmpabc"
    (temporary / ".dvc").mkdir(parents=True)
    monkeypatch.delenv(DVC_ROOT, raising=False)
    assert state_base(temporary) is None  # not under DVC
    monkeypatch.setenv(DVC_ROOT, str(project))
    assert state_base(temporary) == project.resolve()
    assert state_base(project) is None  # DVC runs the stage in the project itself
    monkeypatch.chdir(project)
    cfg = load_params(ROOT / "params.yaml")
    assert stage_config(cfg) is cfg
