"""``bucle --help`` and ``bucle plugins`` stay light: no ML, data or DVC library is imported.

Each check runs in a fresh interpreter, because this test process has imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import framework

#: Top-level packages the light commands must not import (directly or through a plugin module).
HEAVY = {
    "dvc",
    "fastapi",
    "hydra",
    "mlflow",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "skops",
    "sklearn",
}

PROBE = """
import json, sys
from framework.cli import main
try:
    code = main({argv!r})
except SystemExit as exit:
    code = exit.code
print("\\nPROBE " + json.dumps({{"code": code, "modules": sorted(sys.modules)}}))
"""


def probe(argv: list[str], cwd: Path) -> tuple[int, str, set[str]]:
    """Run ``bucle ARGV`` in a fresh interpreter: exit code, output, imported top-level names."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    output, _, report = result.stdout.rpartition("\nPROBE ")
    data = json.loads(report)
    return data["code"], output, {name.split(".")[0] for name in data["modules"]}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["--help"], "usage: bucle", id="--help"),
        pytest.param(["--version"], f"bucle {framework.__version__}", id="--version"),
        pytest.param(["plugins"], "tracker (bucle.trackers", id="plugins"),
        pytest.param(["stage", "--help"], "usage: bucle stage", id="stage --help"),
        pytest.param(["runs", "--help"], "usage: bucle runs", id="runs --help"),
    ],
)
def test_light_command_imports_no_heavy_library(
    argv: list[str], expected: str, tmp_path: Path
) -> None:
    code, output, modules = probe(argv, tmp_path)
    assert code in (0, None)
    assert expected in output
    assert not modules & HEAVY, f"bucle {' '.join(argv)} imported {sorted(modules & HEAVY)}"


def test_bucle_plugins_checks_imports_without_heavy_libraries(tmp_path: Path) -> None:
    # `bucle plugins` imports every plugin's module to say "ok": those modules must stay light.
    _, output, modules = probe(["plugins"], tmp_path)
    assert "plugins" in modules  # it really did import the built-in plugin modules
    assert output.count(" ok") >= 5, output
    assert "error" not in output, output


def test_python_dash_m_framework_is_the_bucle_command(tmp_path: Path) -> None:
    def python_m_framework(flag: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "framework", flag],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    help_text = python_m_framework("--help")
    assert help_text.startswith("usage: bucle ")
    for command in ("run", "stage", "params", "plugins", "runs", "models"):
        assert f"    {command} " in help_text, command

    version = python_m_framework("--version")
    assert version.strip() == f"bucle {framework.__version__}"
