"""``make run`` and ``make test`` bootstrap .venv once and reuse it afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def planned(project: Path, target: str) -> str:
    """What ``make`` would execute for ``target``, without executing it."""
    # Under `make test` this runs inside make: drop the parent's MAKEFLAGS/MAKELEVEL so the
    # nested make neither inherits flags nor prints "Entering directory" lines.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def make_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy2(ROOT / "Makefile", project)
    shutil.copy2(ROOT / "pyproject.toml", project)
    return project


def test_a_fresh_clone_creates_the_venv_and_installs(tmp_path: Path) -> None:
    plan = planned(make_project(tmp_path), "run")
    assert "-m venv .venv" in plan
    assert "pip install --quiet -e '.[dev]'" in plan
    assert plan.strip().endswith("dvc repro")


def test_a_second_run_does_not_reinstall(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    python = project / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.touch()
    stamp = project / ".venv" / ".installed"
    stamp.touch()
    now = time.time()
    os.utime(project / "pyproject.toml", (now - 60, now - 60))
    os.utime(stamp, (now, now))
    for target, command in (("run", "dvc repro"), ("test", "pytest")):
        plan = planned(project, target)
        assert "pip install" not in plan and "venv" not in plan.replace(".venv/bin", "")
        assert plan.strip().endswith(command)


def test_editing_pyproject_reinstalls(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "python").touch()
    stamp = project / ".venv" / ".installed"
    stamp.touch()
    now = time.time()
    os.utime(stamp, (now - 60, now - 60))
    os.utime(project / "pyproject.toml", (now, now))
    assert "pip install --quiet -e '.[dev]'" in planned(project, "test")
