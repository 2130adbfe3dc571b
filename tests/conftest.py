"""Shared fixtures: telemetry off, a throw-away copy of the project in a real git repo, and a way
to run the real ``bucle`` and ``dvc`` commands in it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

#: What a project needs to run the pipeline: config, pipeline files and the code stages depend on.
PROJECT_FILES = ("conf", "dvc.yaml", "params.yaml", ".dvc/config", ".dvcignore", ".gitignore")
CODE_DIRS = ("framework", "plugins")

for key, value in {
    "DO_NOT_TRACK": "1",
    "DVC_NO_ANALYTICS": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GIT_AUTHOR_NAME": "Bucle Tests",
    "GIT_AUTHOR_EMAIL": "tests@bucle.invalid",
    "GIT_COMMITTER_NAME": "Bucle Tests",
    "GIT_COMMITTER_EMAIL": "tests@bucle.invalid",
}.items():
    os.environ[key] = value
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"


def run_command(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a real command (``bucle``, ``dvc``, ``git``) and fail with its output if it fails."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


@pytest.fixture
def run() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_command


def copy_project(target: Path, git: bool = True) -> Path:
    """Copy the bundled example project into ``target``, optionally as a committed git repo."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            shutil.copy2(source, destination)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in CODE_DIRS:
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    if git:
        run_command(["git", "init", "-q", "-b", "main"], target)
        run_command(["git", "add", "-A"], target)
        run_command(["git", "commit", "-q", "-m", "project"], target)
    return target


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the example project in a committed git repo; the current directory."""
    path = copy_project(tmp_path / "project")
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "dvc-site-cache"))
    monkeypatch.chdir(path)
    return path


def shrink_table(project: Path, rows: int) -> None:
    """Generate ``rows`` churn rows instead of 5000, in conf/ and params.yaml alike.

    The project's own ``conf/data/synthetic_churn.yaml`` replaces the built-in option of that
    name (the project's conf/ comes first on Hydra's search path), so recomposing
    (``bucle params``, ``dvc exp run``) keeps the table small.
    """
    builtin = (ROOT / "plugins" / "conf" / "data" / "synthetic_churn.yaml").read_text()
    assert "n_rows: 5000" in builtin
    option = project / "conf" / "data" / "synthetic_churn.yaml"
    option.parent.mkdir(parents=True, exist_ok=True)
    option.write_text(builtin.replace("n_rows: 5000", f"n_rows: {rows}"))
    params = project / "params.yaml"
    text = params.read_text()
    assert "n_rows: 5000" in text, params
    params.write_text(text.replace("n_rows: 5000", f"n_rows: {rows}"))


@pytest.fixture
def small_project(project: Path) -> Path:
    """The example project with a smaller table, so whole-pipeline tests stay quick."""
    shrink_table(project, 1500)
    run_command(["git", "add", "-A"], project)
    run_command(["git", "commit", "-q", "-m", "smaller table"], project)
    return project


def add_distribution(
    site: Path,
    name: str,
    version: str,
    modules: dict[str, str],
    entry_points: dict[str, dict[str, str]],
) -> dict[str, str]:
    """Install distribution ``name`` into ``site`` the way pip lays it out, without pip.

    A module plus a ``dist-info`` with ``METADATA`` and ``entry_points.txt`` on ``PYTHONPATH`` is
    all ``importlib.metadata`` needs to find a plugin's entry points. Returns the environment
    that puts ``site`` on ``PYTHONPATH`` for a subprocess.
    """
    site.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    )
    sections = [
        "\n".join([f"[{group}]", *(f"{key} = {value}" for key, value in names.items())])
        for group, names in entry_points.items()
    ]
    (dist_info / "entry_points.txt").write_text("\n\n".join(sections) + "\n")
    # Never leave an empty PYTHONPATH entry: it would put the current directory on sys.path.
    paths = [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(paths)}


@pytest.fixture(scope="session")
def install_distribution() -> Callable[..., dict[str, str]]:
    """``add_distribution`` for tests: fake third-party plugins with real entry points."""
    return add_distribution
