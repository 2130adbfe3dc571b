"""The hook reference page (docs/hooks.md) is generated from framework/hooks/specs.py and kept in
sync by this test; docs/plugins.md lists every role Bucle declares an entry-point group for."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from framework.hooks import specs
from framework.hooks.host import ROLES
from framework.hooks.reference import REGENERATE, hook_specs, render_reference
from tests.conftest import ROOT

HOOKS_DOC = ROOT / "docs" / "hooks.md"
PLUGINS_DOC = ROOT / "docs" / "plugins.md"


def test_docs_hooks_md_is_what_the_specs_generate() -> None:
    written = HOOKS_DOC.read_text(encoding="utf-8") if HOOKS_DOC.exists() else ""
    up_to_date = written == render_reference()  # a bool: the message, not a 600-line diff
    assert up_to_date, (
        f"docs/hooks.md is out of date with framework/hooks/specs.py; regenerate it: {REGENERATE}"
    )


def test_every_spec_is_in_the_reference_with_its_signature_and_calling_rule() -> None:
    page = render_reference()
    functions = [
        node.name
        for node in ast.parse(Path(specs.__file__).read_text()).body
        if isinstance(node, ast.FunctionDef)
    ]
    assert [hook.name for hook in hook_specs()] == functions  # every spec, in the file's order
    for hook in hook_specs():
        assert f"def {hook.name}({hook.signature}" in page
    # firstresult is read from pluggy's marker, not from the prose.
    load_data = page.split("### `load_data`")[1].split("\n### ")[0]
    log_metrics = page.split("### `log_metrics`")[1].split("\n### ")[0]
    assert "first non-None result wins" in load_data and "firstresult=True" in load_data
    assert "every implementation is called" in log_metrics


def test_the_reference_groups_hooks_under_the_banners_of_specs_py() -> None:
    page = render_reference()
    headings = re.findall(r"^## (.+)$", page, flags=re.MULTILINE)
    assert headings[1:3] == ["Pipeline lifecycle (any plugin)", "Source"]
    for title in ("Monitor", "Alerter", "Model registry", "Feature store", "Deployer"):
        assert title in headings
    # A hook sits under its group: check_window under Monitor, send_alert under Alerter.
    assert page.index("## Monitor") < page.index("### `check_window`") < page.index("## Alerter")
    assert page.index("## Alerter") < page.index("### `send_alert`")


def test_every_spec_documents_each_argument_and_what_it_returns() -> None:
    for hook in hook_specs():
        assert set(hook.arguments) == set(hook.parameters), (
            f"{hook.name}: document every argument with a ':param name:' line in its docstring"
        )
        assert all(hook.arguments.values()), hook.name
        assert re.search(r"\breturn", hook.returns, flags=re.IGNORECASE), (
            f"{hook.name}: say what a return value does (or that it is ignored)"
        )


def test_the_check_command_fails_on_a_stale_page_and_names_the_fix(tmp_path: Path) -> None:
    stale = tmp_path / "hooks.md"
    stale.write_text("# Hook reference\n\nan old copy\n")
    command = [sys.executable, "-m", "framework.hooks.reference", "--check", "--output", str(stale)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert "out of date" in result.stderr and REGENERATE in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    written = subprocess.run(command[:3] + command[4:], cwd=ROOT, capture_output=True, text=True)
    assert written.returncode == 0, written.stderr
    assert stale.read_text(encoding="utf-8") == render_reference()
    assert subprocess.run(command, cwd=ROOT, capture_output=True).returncode == 0


def test_the_role_table_of_plugins_md_has_every_entry_point_group() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    groups = set(pyproject["project"]["entry-points"]) - {"bucle.config"}
    groups |= {role.group for role in ROLES.values()}  # bucle.hooks has no built-in plugin
    table = PLUGINS_DOC.read_text(encoding="utf-8").split("## 1. Pick a role")[1].split("\n## ")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    for group in sorted(groups):
        assert any(f"`{group}`" in row for row in rows), f"docs/plugins.md: no row for {group}"
    for role in ROLES.values():
        for hook in role.required_hooks:
            row = next(row for row in rows if f"`{role.group}`" in row)
            assert f"`{hook}`" in row, (role.name, hook)
    assert "docs/hooks.md" in PLUGINS_DOC.read_text() or "(hooks.md)" in PLUGINS_DOC.read_text()
