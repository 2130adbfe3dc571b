"""``bucle init``: a project on which ``dvc repro`` runs at once, and plugin packages whose role
contract passes once they are pip-installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from framework.scaffold.plugin import SCAFFOLDED, SELECTORS
from tests.conftest import ROOT, run_command


def defaults_of(path: Path) -> list:
    return yaml.safe_load(path.read_text())["defaults"]


def test_a_new_project_has_the_bundled_projects_defaults_and_a_first_commit(
    tmp_path: Path, run
) -> None:
    result = run(["bucle", "init", "demo"], tmp_path)
    project = tmp_path / "demo"
    assert "dvc repro" in result.stdout
    # The scaffold's defaults list is the bundled example's: the two cannot drift apart.
    assert defaults_of(project / "conf" / "config.yaml") == defaults_of(ROOT / "conf/config.yaml")
    assert yaml.safe_load((project / "params.yaml").read_text())["project"] == "demo"
    run(["bucle", "params", "--check"], project)
    assert "analytics = false" in (project / ".dvc" / "config").read_text()
    assert run(["git", "status", "--porcelain"], project).stdout == ""  # all committed
    assert ".bucle/" in (project / ".gitignore").read_text()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["init", "Bad-Name"], "project name 'Bad-Name' is not allowed"),
        (["init", "--plugin", "deployer", "k8s"], "no template for role 'deployer'"),
        (["init", "existing"], "already exists and is not empty"),
    ],
)
def test_init_mistakes_are_one_line(tmp_path: Path, run, args: list[str], expected: str) -> None:
    (tmp_path / "existing").mkdir()
    (tmp_path / "existing" / "keep.txt").write_text("mine")
    result = run(["bucle", *args], tmp_path, check=False)
    assert result.returncode != 0
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "existing" / "keep.txt").read_text() == "mine"  # never overwritten


@pytest.mark.slow
def test_dvc_repro_runs_at_once_on_a_new_project(tmp_path: Path, run, monkeypatch) -> None:
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "dvc-site-cache"))
    run(["bucle", "init", "demo"], tmp_path)
    project = tmp_path / "demo"
    repro = run(["dvc", "repro"], project)
    assert "Running stage 'register'" in repro.stdout
    listed = run(["bucle", "models", "list"], project).stdout.splitlines()
    assert listed[1].split()[:2] == ["demo", "1"]
    assert "didn't change, skipping" in run(["dvc", "repro"], project).stdout


@pytest.mark.slow
def test_a_data_file_under_data_input_is_a_dependency_of_ingest(
    tmp_path: Path, run, monkeypatch
) -> None:
    """A source's data file reruns the pipeline when it changes: the scaffold's dvc.yaml says so."""
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "dvc-site-cache"))
    run(["bucle", "init", "demo"], tmp_path)
    project = tmp_path / "demo"
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    assert "data/input" in stages["ingest"]["deps"]
    assert (project / "data" / "input").is_dir()  # committed, so `dvc repro` finds the dep

    table = project / "data" / "input" / "customers.csv"
    table.write_text("x,label\n" + "".join(f"{i},{i % 2}\n" for i in range(40)))
    run(["dvc", "add", "data/input/customers.csv"], project)  # as docs/plugins.md says
    path = "data.path=data/input/customers.csv"
    run(["bucle", "params", "data=file", path, "data.target=label"], project)
    run(["dvc", "repro", "ingest"], project)
    assert "data/input" not in run(["dvc", "status", "ingest"], project).stdout

    with table.open("a") as handle:
        handle.write("40,0\n")  # a new version of the data
    status = run(["dvc", "status", "ingest"], project).stdout
    assert "changed deps" in status and "data/input" in status


@pytest.fixture(scope="module")
def plugin_packages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """One scaffolded package per role, all pip-installed (``--target``) into one directory."""
    work = tmp_path_factory.mktemp("plugins")
    site = work / "site-packages"
    packages = {}
    for role in SCAFFOLDED:
        run_command(["bucle", "init", "--plugin", role, f"my_{role}"], work)
        packages[role] = work / f"bucle-my-{role}"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    run_command([*pip, "--target", str(site), *map(str, packages.values())], work)
    return site, packages


@pytest.mark.slow
def test_each_scaffolded_plugin_installs_and_passes_its_role_contract(
    plugin_packages: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    site, packages = plugin_packages
    env = {"PYTHONPATH": str(site)}
    for role, package in packages.items():
        # The installed copy is tested (not the source tree): the entry points and the shipped
        # YAML come from the wheel pip built.
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                str(package / "tests"),
            ],
            cwd=tmp_path,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{role}:\n{result.stdout}\n{result.stderr}"
        assert " passed" in result.stdout.splitlines()[-1] and "failed" not in result.stdout

    listed = run_command(["bucle", "plugins"], tmp_path, env=env).stdout
    for role in SCAFFOLDED:
        assert f"bucle-my-{role} 0.1.0" in listed, listed


@pytest.mark.slow
def test_each_scaffolded_plugin_is_selected_by_its_shipped_option(
    plugin_packages: tuple[Path, dict[str, Path]], project: Path
) -> None:
    site, _ = plugin_packages
    env = {"PYTHONPATH": str(site)}
    for role in SCAFFOLDED:
        selector = SELECTORS[role].format(name=f"my_{role}").strip("'")
        run_command(["bucle", "params", selector], project, env=env)
        params = yaml.safe_load((project / "params.yaml").read_text())
        section = {"source": "data", "validator": "validate", "alerter": "alert"}.get(role, role)
        chosen = params[section]
        assert chosen.get("name") == f"my_{role}" or f"my_{role}" in chosen, (role, chosen)
    # And a whole run with the scaffolded source, tracker, store and registry together.
    run_command(
        [
            "bucle",
            "run",
            "data=my_source",
            "tracker=[local,my_tracker]",
            "store=my_store",
            "registry=my_registry",
            "validate=[rules,my_validator]",
        ],
        project,
        env=env,
    )
    assert (project / ".bucle" / "my_tracker.jsonl").is_file()
    assert (project / ".bucle" / "my_registry-registry.json").is_file()
