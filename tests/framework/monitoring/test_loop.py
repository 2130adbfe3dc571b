"""The loop, end to end, against a real server: concept drift in traffic and ground truth,
the monitor detects it, retraining fires, the retrained model beats production on the new test
rows, and a canary under steady load promotes it; clean traffic triggers nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from framework.files import sha256_file
from tests.conftest import run_command
from tests.framework.serving.conftest import Server, promote, token_env
from tests.framework.serving.test_release import QUICK, SteadyLoad, alias

pytestmark = pytest.mark.slow

CANARY = ["deploy.strategy=canary", "deploy.canary_fraction=0.5", "serve.poll_seconds=0.2"]
NEW_CUSTOMERS = ["data.n_rows=1200", "data.invalid_share=0", "data.id_offset=1000000"]


def traffic(project: Path, server: Server, drift: str, seed: int) -> None:
    run_command(
        [
            *("bucle", "traffic", "--url", server.base, "--seed", str(seed)),
            *("--feedback", "1.0", f"data.drift={drift}", *NEW_CUSTOMERS),
        ],
        project,
        env=token_env(server.token),  # the labels go in with the server's write token
    )


def monitor(project: Path, server: Server) -> tuple[int, Path]:
    result = run_command(
        ["bucle", "monitor", "--url", server.base, "--last", "1200", "--fail-on-drift"],
        project,
        check=False,
    )
    return result.returncode, project / re.search(r"^json: (.+)$", result.stdout, re.M).group(1)


def versions(project: Path) -> str:
    return run_command(["bucle", "models", "list"], project).stdout


def test_concept_drift_is_detected_retrained_gated_and_released_by_canary(
    project_copy: Path, start_server: Any, records: list[dict[str, Any]]
) -> None:
    promote(project_copy, 1)
    server = start_server(project_copy, *CANARY, "serve.flush_seconds=0.5")
    traffic(project_copy, server, "concept", seed=21)
    code, report_path = monitor(project_copy, server)
    assert code == 1
    report = json.loads(report_path.read_text())
    assert {m["monitor"]: m["status"] for m in report["monitors"]}["performance"] == "drift"

    with SteadyLoad(server, records) as load:
        result = run_command(
            ["bucle", "retrain", "--if-needed", "--url", server.base, *CANARY, *QUICK],
            project_copy,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(load.statuses) == {200}, "no request may fail while the loop closes"
    assert "trigger performance_drop" in result.stdout
    assert "gate: passed" in result.stdout and "canary: promoted" in result.stdout
    assert alias(project_copy, "production") == 3 and alias(project_copy, "staging") is None

    record = json.loads((project_copy / ".bucle/retrain/retrains.json").read_text())[-1]
    assert record["outcome"] == "released" and record["version"] == 3
    assert [t["name"] for t in record["triggers"]] == ["performance_drop"]
    assert Path(record["report"]).resolve() == report_path.resolve()
    assert record["report_sha256"] == sha256_file(report_path)
    assert record["rows"] == {"original": 1500, "production": 1200}
    assert record["gate"]["retrained"] > record["gate"]["production"]
    shown = run_command(["bucle", "runs", "show", record["run_id"]], project_copy).stdout
    assert record["report_sha256"] in shown and "bucle retrain" in shown
    release = json.loads((project_copy / ".bucle/releases.json").read_text())[-1]
    assert release["version"] == 3 and release["outcome"] == "promoted"


def test_clean_traffic_triggers_nothing(project_copy: Path, start_server: Any, run: Any) -> None:
    promote(project_copy, 1)
    server = start_server(project_copy, "serve.flush_seconds=0.5")
    traffic(project_copy, server, "none", seed=22)
    code, _ = monitor(project_copy, server)
    assert code == 0
    before = versions(project_copy)

    result = run(["bucle", "retrain", "--if-needed"], project_copy)

    assert result.stdout.startswith("no retraining needed: no trigger fired")
    assert versions(project_copy) == before
    assert not (project_copy / ".bucle/retrain/retrains.json").exists()
