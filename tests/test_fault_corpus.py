"""The fault corpus: every bad input or fault a user can meet is one clear line, never a traceback.

Each case is a small temp project (a copy of the example), a setup that breaks one thing, a real
``bucle`` command, its exit code (2 for config and plugin errors, 1 otherwise: see
framework/errors.py) and a regex the single line on stderr must match. No case trains a model
unless the fault needs one; a case that fails before its stage stays cheap.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import add_distribution, copy_project, run_command, shrink_table

RUN_FILE = ["bucle", "run", "data=file", "data.target=y", "project=faults"]


@dataclass(frozen=True)
class Fault:
    """One row of the corpus: break the project with ``setup``, run ``command``, read one line."""

    setup: Callable[[Path], dict[str, str] | None]
    command: list[str]
    exit_code: int
    message: str
    env: dict[str, str] = field(default_factory=dict)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed command; fails on a traceback or a second line."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# ---------------------------------------------------------------------------------------------
# Setups: each breaks exactly one thing in a fresh project and may return extra environment.
# ---------------------------------------------------------------------------------------------


def corrupt(name: str) -> Callable[[Path], None]:
    def setup(project: Path) -> None:
        state = project / ".bucle"
        state.mkdir(exist_ok=True)
        (state / name).write_bytes(b"this is not a sqlite database\n" * 40)

    return setup


def write_csv(text: str) -> Callable[[Path], None]:
    def setup(project: Path) -> None:
        (project / "table.csv").write_text(text)

    return setup


def rows_csv(count: int) -> Callable[[Path], None]:
    lines = ["a,b,y", *(f"{i},{i % 3},{i % 2}" for i in range(count))]
    return write_csv("\n".join(lines) + "\n")


def nested_parquet(project: Path) -> None:
    import pandas as pd

    n = 40
    frame = pd.DataFrame(
        {
            "a": [float(i) for i in range(n)],
            "tags": [[i, i + 1] for i in range(n)],
            "address": [{"city": "x", "zip": i} for i in range(n)],
            "y": [i % 2 for i in range(n)],
        }
    )
    frame.to_parquet(project / "table.parquet")


def replace_file(name: str, text: str) -> Callable[[Path], None]:
    def setup(project: Path) -> None:
        (project / name).write_text(text)

    return setup


def broken_option(project: Path) -> None:
    option = project / "conf" / "experiment" / "broken.yaml"
    option.write_text("# @package _global_\nseed: 7\nfeatures:\n  test_size: [0.2\n")


def disk_full(project: Path) -> dict[str, str]:
    """params.yaml writes data to a tiny tmpfs filled to the last byte (root only)."""
    mount = project.parent / "full"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        with open(mount / "filler", "wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
    except OSError:
        pass
    params = project / "params.yaml"
    text = params.read_text()
    params.write_text(text.replace("data: ./data", f"data: {mount}/data", 1))
    assert f"data: {mount}/data" in params.read_text()
    return {}


def third_party_site(project: Path, init: str) -> dict[str, str]:
    """A distribution whose package fails to import, with a tracker and a config option."""
    site = project.parent / "site"
    env = add_distribution(
        site,
        "bucle-gpu-tracker",
        "1.2.0",
        {},
        {
            "bucle.trackers": {"gpu": "bucle_gpu.tracker:GpuTracker"},
            "bucle.config": {"gpu": "bucle_gpu.conf"},
        },
    )
    package = site / "bucle_gpu"
    (package / "conf" / "tracker").mkdir(parents=True)
    (package / "__init__.py").write_text(init)
    (package / "tracker.py").write_text("class GpuTracker:\n    pass\n")
    (package / "conf" / "__init__.py").write_text("")
    (package / "conf" / "tracker" / "gpu.yaml").write_text("gpu:\n  device: 0\n")
    return env


def failing_import(init: str) -> Callable[[Path], dict[str, str]]:
    return lambda project: third_party_site(project, init)


def typed_constructor(project: Path) -> dict[str, str]:
    """A third-party tracker whose constructor does arithmetic on an option given as text."""
    return add_distribution(
        project.parent / "site",
        "bucle-batch-tracker",
        "0.1.0",
        {
            "bucle_batch": """
                from framework import hookimpl

                class BatchTracker:
                    def __init__(self, batch_size=10, flush_every=2.5):
                        self.batches = list(range(0, 100, batch_size))

                    @hookimpl
                    def log_metrics(self, run_id, metrics):
                        pass
            """
        },
        {"bucle.trackers": {"batch": "bucle_batch:BatchTracker"}},
    )


def nothing(project: Path) -> None:
    return None


def artifact_gone(project: Path) -> None:
    """Version 1 of 'churn' is in the registry; its model file never reached the store."""
    from plugins.registries.local import LocalRegistry

    registry = LocalRegistry(path=str(project / ".bucle" / "registry.db"))
    registry.register_model(name="churn", sha256="ab" * 32, run_id="r1", lineage={}, metrics={})


CASES = {
    "corrupt-tracking-db": Fault(
        corrupt("tracking.db"),
        ["bucle", "runs", "list"],
        1,
        r"\.bucle/tracking\.db is not a readable sqlite database .*move it aside",
    ),
    "corrupt-registry-db": Fault(
        corrupt("registry.db"),
        ["bucle", "models", "list"],
        1,
        r"\.bucle/registry\.db is not a readable sqlite database .*move it aside",
    ),
    "one-row-table": Fault(
        rows_csv(1),
        [*RUN_FILE, "data.path=table.csv"],
        1,
        r"too few rows: .*1 row",
    ),
    "three-row-table": Fault(
        rows_csv(3),
        [*RUN_FILE, "data.path=table.csv"],
        1,
        r"too few rows: .*3 rows",
    ),
    "disk-full-writing-run-outputs": Fault(
        disk_full,
        ["bucle", "stage", "ingest"],
        1,
        r"no space left on device writing .*raw\.parquet",
    ),
    "broken-yaml-in-conf": Fault(
        broken_option,
        ["bucle", "params", "experiment=broken"],
        2,
        r"conf/experiment/broken\.yaml:\d+:\d+: ",
    ),
    "broken-yaml-config": Fault(
        replace_file("conf/config.yaml", "defaults:\n  - bucle_schema\n  seed: [\n"),
        ["bucle", "params"],
        2,
        r"conf/config\.yaml:\d+:\d+: ",
    ),
    "empty-config-yaml": Fault(
        replace_file("conf/config.yaml", ""),
        ["bucle", "params"],
        2,
        r"conf/config\.yaml is empty",
    ),
    "empty-params-yaml": Fault(
        replace_file("params.yaml", "\n"),
        ["bucle", "stage", "ingest"],
        2,
        r"params\.yaml is empty.*bucle params",
    ),
    "test-size-out-of-range": Fault(
        nothing,
        ["bucle", "run", "features.test_size=1.5"],
        2,
        r"features\.test_size=1\.5 .*between 0 and 1",
    ),
    "p-value-not-a-number": Fault(
        nothing,
        ["bucle", "run", "monitor.drift.p_value=abc"],
        2,
        r"monitor\.drift\.p_value='abc'",
    ),
    "ragged-first-csv-row": Fault(
        write_csv("a,b,y\n1,2,0,9\n2,3,1\n3,4,0\n"),
        [*RUN_FILE, "data.path=table.csv"],
        1,
        r"table\.csv.* line 2 has 4 fields.*header.* 3",
    ),
    "nested-parquet-columns": Fault(
        nested_parquet,
        [*RUN_FILE, "data.path=table.parquet"],
        1,
        r"columns? 'tags' \(list\).* 'address' \(struct\)",
    ),
    "plugin-option-of-wrong-type": Fault(
        typed_constructor,
        ["bucle", "run", "+tracker.batch.batch_size=ten"],
        2,
        r"tracker plugin 'batch' .*tracker\.batch\.batch_size='ten'.*TypeError",
    ),
    "unselected-plugin-fails-to-import": Fault(
        failing_import("raise RuntimeError('needs CUDA 12')\n"),
        ["bucle", "run", "features.test_size=7"],
        2,
        r"features\.test_size=7",
    ),
    "selected-plugin-fails-to-import": Fault(
        failing_import("raise RuntimeError('needs CUDA 12')\n"),
        ["bucle", "run", "tracker=[local,gpu]"],
        2,
        r"tracker plugin 'gpu' \(bucle_gpu\.tracker:GpuTracker\) from bucle-gpu-tracker 1\.2\.0 "
        r"failed to import: RuntimeError: needs CUDA 12",
    ),
    "import-error-message-shown-as-is": Fault(
        failing_import("raise ImportError('libcuda.so.1: cannot open shared object file')\n"),
        ["bucle", "run", "tracker=[local,gpu]"],
        2,
        r"bucle-gpu-tracker 1\.2\.0 failed to import: ImportError: libcuda\.so\.1: cannot open",
    ),
    "models-show-missing-artifact": Fault(
        artifact_gone,
        ["bucle", "models", "show", "1"],
        1,
        r"model 'churn' version 1 is registered, but its artifact cannot be used: artifact "
        r"abababababab… is not in the store",
    ),
}


def corpus() -> list:
    return [pytest.param(case, id=name) for name, case in CASES.items()]


@pytest.mark.parametrize("case", corpus())
def test_fault_is_one_line_naming_the_fix(tmp_path: Path, case: Fault) -> None:
    project = copy_project(tmp_path / "project", git=False)
    shrink_table(project, 300)
    try:
        env = {**case.env, **(case.setup(project) or {})}
        result = run_command(case.command, project, env=env, check=False)
    finally:
        if (tmp_path / "full").is_mount():
            subprocess.run(["umount", str(tmp_path / "full")], check=True)
    line = one_line(result)
    assert result.returncode == case.exit_code, line
    assert re.search(case.message, line), line
    assert line.startswith("bucle: error: "), line


def test_a_config_error_fails_before_any_stage_runs(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", git=False)
    result = run_command(["bucle", "run", "features.test_size=1.5"], project, check=False)
    assert result.returncode == 2, result.stderr
    assert not (project / "outputs").exists()


def test_a_plugin_that_fails_to_import_is_never_imported_unless_selected(tmp_path: Path) -> None:
    """The broken package stays out of every command that does not select it."""
    project = copy_project(tmp_path / "project", git=False)
    env = third_party_site(project, "raise RuntimeError('needs CUDA 12')\n")
    for command in (["bucle", "params", "--output", "composed.yaml"], ["bucle", "plugins"]):
        result = run_command(command, project, env=env, check=False)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    assert "RuntimeError: needs CUDA 12" in result.stdout  # `bucle plugins` names the failure


def test_infinite_values_are_quarantined_in_validate(tmp_path: Path) -> None:
    """``inf``/``-inf`` in a feature or the target: those rows go to quarantine, named."""
    import pandas as pd

    project = copy_project(tmp_path / "project", git=False)
    rows = ["a,b,y", *(f"{i},{i % 3},{i % 2}" for i in range(60))]
    rows[4] = "inf,1,1"
    rows[9] = "-inf,0,0"
    rows[20] = "19,1,inf"
    (project / "table.csv").write_text("\n".join(rows) + "\n")
    overrides = ["data=file", "data.path=table.csv", "data.target=y", "project=faults"]
    run_command(["bucle", "params", *overrides], project)
    run_command(["bucle", "stage", "ingest"], project)
    result = run_command(["bucle", "stage", "validate"], project)
    assert "Traceback" not in result.stderr
    quarantined = pd.read_parquet(project / "data" / "quarantine.parquet")
    assert len(quarantined) == 3
    validated = pd.read_parquet(project / "data" / "validated.parquet")
    assert len(validated) == 57
    report = json.loads((project / "reports" / "validation.json").read_text())
    failed = {check["name"] for check in report["checks"] if not check["passed"]}
    assert {"a:finite", "y:finite"} <= failed
