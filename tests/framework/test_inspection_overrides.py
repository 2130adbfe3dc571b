"""Inspection commands take the same overrides as ``bucle run``: a model trained with
``data=file ... project=credit`` is listed, shown and promoted without editing a file."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_command
from tests.framework.serving.conftest import project_copy, start_server, trained  # noqa: F401


def bucle(project: Path, *args: str, check: bool = True):
    return run_command(["bucle", *args], project, check=check)


def test_a_project_chosen_by_override_is_listed_shown_and_promoted(
    project_copy: Path,  # noqa: F811
    trained,  # noqa: F811
    start_server,  # noqa: F811
) -> None:
    table = ["data=file", f"data.path={trained.test_rows}", "data.target=churned"]
    bucle(project_copy, "run", *table, "project=credit")

    listed = bucle(project_copy, "models", "list", "project=credit").stdout
    assert listed.splitlines()[1].split()[:2] == ["credit", "1"]
    assert "credit" not in bucle(project_copy, "models", "list").stdout  # params.yaml: churn
    assert (
        '"name": "credit"'
        in bucle(project_copy, "models", "show", "1", *table, "project=credit").stdout
    )

    promoted = bucle(
        project_copy, "models", "promote", "1", "--alias", "production", "project=credit"
    )
    assert promoted.stdout.strip() == "credit v1 is now production"
    listed = bucle(project_copy, "models", "list", "project=credit").stdout
    assert "production" in listed.splitlines()[1].split()[2].split(",")
    assert "production" not in bucle(project_copy, "models", "list").stdout  # churn untouched

    runs = bucle(project_copy, "runs", "list", "project=credit").stdout.splitlines()
    assert len(runs) == 2  # the header and credit's one run
    run_id = runs[1].split()[0]
    assert run_id not in bucle(project_copy, "runs", "list").stdout
    assert (
        "project   credit" in bucle(project_copy, "runs", "show", run_id, "project=credit").stdout
    )
    assert "# Model card" in bucle(project_copy, "models", "card", "1", "project=credit").stdout

    # monitor and deploy status take them too: the window is credit's production model's.
    monitored = bucle(project_copy, "monitor", "project=credit")
    assert monitored.stdout.startswith("credit v1:"), monitored.stderr
    status = bucle(project_copy, "deploy", "status", "project=credit", check=False)
    assert status.stdout.startswith("no deployment recorded")

    # The credit model has no tuned threshold: /model names the configured positive label.
    server = start_server(project_copy, *table, "project=credit", "evaluate.positive_label=0")
    described = server.get("/model").json
    assert described["name"] == "credit" and described["positive_label"] == 0


def test_a_bad_override_of_an_inspection_command_is_one_line(project_copy: Path) -> None:  # noqa: F811
    result = bucle(project_copy, "models", "list", "projekt=credit", check=False)
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("bucle: error:") and "projekt" in line
