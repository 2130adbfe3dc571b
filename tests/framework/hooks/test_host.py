"""The plugin host: the selected plugins and nothing else, and one clear line for every mistake.

Error cases go through the real ``bucle`` command in a subprocess, because what a user sees is
the point: exit code 2, a single ``bucle: error: ...`` line on stderr, never a traceback. Broken
third-party plugins are "installed" without pip, as a module plus a ``dist-info`` directory on
``PYTHONPATH`` — enough for ``importlib.metadata`` to find their entry points.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from framework.config.compose import compose_config, validate_config
from framework.hooks.host import ROLES, build_host, installed

# ---------------------------------------------------------------------------------------------
# Fake third-party distributions
# ---------------------------------------------------------------------------------------------


NEEDY_TRACKER = """
    from framework import hookimpl

    class NeedyTracker:
        def __init__(self, url: str, timeout: float = 5.0) -> None:
            self.url = url
            self.timeout = timeout

        @hookimpl
        def log_metrics(self, run_id, metrics):
            pass
"""
BROKEN_TRACKER = """
    import definitely_missing_dependency

    class BrokenTracker:
        pass
"""
TYPO_TRACKER = """
    from framework import hookimpl

    class TypoTracker:
        @hookimpl
        def log_metric(self, run_id, metrics):
            pass
"""
FUNCTION_TRACKER = """
    def make_tracker():
        return object()
"""
WRONG_ARGS_TRACKER = """
    from framework import hookimpl

    class WrongArgsTracker:
        @hookimpl
        def log_metrics(self, run_id, values):
            pass
"""
HALF_STORE = """
    from framework import hookimpl

    class HalfStore:
        @hookimpl
        def put_artifact(self, path, sha256):
            return "half://" + sha256
"""
RECORDER_HOOKS = """
    import json

    from framework import hookimpl

    class Recorder:
        def __init__(self, path: str) -> None:
            self.path = path

        def _write(self, **event):
            with open(self.path, "a") as handle:
                handle.write(json.dumps(event) + "\\n")

        @hookimpl
        def before_stage(self, stage, context):
            self._write(hook="before_stage", stage=stage, run_id=context.run_id)

        @hookimpl
        def after_stage(self, stage, outputs):
            self._write(hook="after_stage", stage=stage, outputs=sorted(outputs))

        @hookimpl
        def on_stage_error(self, stage, error):
            self._write(hook="on_stage_error", stage=stage, error=type(error).__name__)

        @hookimpl
        def on_model_registered(self, version, promoted):
            self._write(hook="on_model_registered", version=version.version, promoted=promoted)
"""

#: (distribution, version, {module: source}, {group: {entry point: target}})
FAKE_DISTRIBUTIONS = [
    # A lifecycle-only plugin that records every hook call to a file.
    (
        "bucle-recorder",
        "1.0.0",
        {"recorder_hooks": RECORDER_HOOKS},
        {"bucle.hooks": {"recorder": "recorder_hooks:Recorder"}},
    ),
    # A tracker with a required option.
    (
        "bucle-needy-tracker",
        "0.3.0",
        {"needy_tracker": NEEDY_TRACKER},
        {"bucle.trackers": {"needy": "needy_tracker:NeedyTracker"}},
    ),
    # A tracker whose dependency is not installed.
    (
        "bucle-broken-tracker",
        "0.2.0",
        {"broken_tracker": BROKEN_TRACKER},
        {"bucle.trackers": {"broken": "broken_tracker:BrokenTracker"}},
    ),
    # A misspelt hook, which pluggy alone would ignore silently.
    (
        "bucle-typo-tracker",
        "0.1.0",
        {"typo_tracker": TYPO_TRACKER},
        {"bucle.trackers": {"typo": "typo_tracker:TypoTracker"}},
    ),
    # An entry point at a factory function instead of the class.
    (
        "bucle-function-tracker",
        "0.1.0",
        {"function_tracker": FUNCTION_TRACKER},
        {"bucle.trackers": {"notaclass": "function_tracker:make_tracker"}},
    ),
    # A hook implementation asking for an argument the spec does not pass.
    (
        "bucle-wrongargs-tracker",
        "0.1.0",
        {"wrongargs_tracker": WRONG_ARGS_TRACKER},
        {"bucle.trackers": {"wrongargs": "wrongargs_tracker:WrongArgsTracker"}},
    ),
    # A store (a "one" role) that cannot give artifacts back.
    (
        "bucle-half-store",
        "0.1.0",
        {"half_store": HALF_STORE},
        {"bucle.stores": {"half": "half_store:HalfStore"}},
    ),
]


@pytest.fixture(scope="module")
def fake_site(tmp_path_factory: pytest.TempPathFactory, install_distribution) -> Path:
    """One directory holding every fake distribution above."""
    site = tmp_path_factory.mktemp("site-packages")
    for name, version, modules, entry_points in FAKE_DISTRIBUTIONS:
        install_distribution(site, name, version, modules, entry_points)
    return site


@pytest.fixture
def fake_env(fake_site: Path) -> dict[str, str]:
    # Never leave an empty PYTHONPATH entry: it would put the project directory on sys.path.
    paths = [str(fake_site), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(paths)}


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single ``bucle: error:`` line of a failed command; fails on anything else."""
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 2, output
    assert "Traceback" not in result.stderr + result.stdout, output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("bucle: error: "), output
    return lines[0]


# ---------------------------------------------------------------------------------------------
# Mistakes in the config, through `bucle run` and `bucle stage`
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(
            ["tracker=mlfow"],
            ["cannot compose conf/", "tracker/mlfow", "available: local"],
            id="unknown-group-option",
        ),
        pytest.param(
            ["+tracker.mlfow={}"],
            ["unknown tracker plugin 'mlfow'", "(config tracker)", "installed: local"],
            id="unknown-tracker-name",
        ),
        pytest.param(
            ["store.name=locl"],
            ["unknown store plugin 'locl'", "installed: fsspec, local", "did you mean 'local'?"],
            id="unknown-store-name",
        ),
        pytest.param(
            ["+store.rooot=x"],
            [
                "store plugin 'local' has no option 'rooot' (store.rooot)",
                "accepted options: root",
                "did you mean 'root'?",
            ],
            id="unknown-option",
        ),
        pytest.param(
            ["+tracker.local.pth=x.db"],
            ["tracker plugin 'local' has no option 'pth' (tracker.local.pth)", "'path'?"],
            id="unknown-option-of-a-many-role",
        ),
        pytest.param(
            ["data=file"],
            ["data.path is required but not set", "data.path=..."],
            id="missing-source-option",
        ),
    ],
)
def test_config_mistake_is_one_line_naming_the_fix(
    project: Path, run, overrides: list[str], expected: list[str]
) -> None:
    line = one_line_error(run(["bucle", "run", *overrides], project, check=False))
    for fragment in expected:
        assert fragment in line


def test_plugin_mistake_in_params_yaml_is_one_line_for_bucle_stage(project: Path, run) -> None:
    params = project / "params.yaml"
    text = params.read_text()
    assert "name: local\n  root:" in text
    params.write_text(text.replace("name: local\n  root:", "name: locl\n  root:"))

    line = one_line_error(run(["bucle", "stage", "ingest"], project, check=False))
    assert "unknown store plugin 'locl'" in line
    assert "did you mean 'local'?" in line
    assert not (project / "data").exists()  # nothing ran


# ---------------------------------------------------------------------------------------------
# Broken third-party plugins
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(
            ["+tracker.needy={}"],
            [
                "tracker plugin 'needy' needs option 'url'",
                "set tracker.needy.url=...",
                "accepted options: url, timeout",
            ],
            id="missing-option",
        ),
        pytest.param(
            ["+tracker.broken={}"],
            [
                "tracker plugin 'broken'",
                "bucle-broken-tracker 0.2.0",
                "failed to import",
                "'definitely_missing_dependency'",
            ],
            id="import-fails",
        ),
        pytest.param(
            ["+tracker.typo={}"],
            [
                "tracker plugin 'typo'",
                "method 'log_metric'",
                "no hook spec",
                "did you mean 'log_metrics'?",
            ],
            id="misspelt-hook",
        ),
        pytest.param(
            ["+tracker.notaclass={}"],
            [
                "tracker plugin 'notaclass'",
                "function_tracker:make_tracker",
                "is not a class",
            ],
            id="entry-point-not-a-class",
        ),
        pytest.param(
            ["+tracker.wrongargs={}"],
            ["tracker plugin 'wrongargs' breaks a hook spec", "log_metrics", "values"],
            id="hook-argument-not-in-spec",
        ),
        pytest.param(
            ["store.name=half", "~store.root"],
            ["store plugin 'half' does not implement get_artifact"],
            id="one-role-missing-required-hook",
        ),
    ],
)
def test_broken_third_party_plugin_is_one_line_naming_it(
    project: Path, run, fake_env: dict[str, str], overrides: list[str], expected: list[str]
) -> None:
    line = one_line_error(run(["bucle", "run", *overrides], project, env=fake_env, check=False))
    for fragment in expected:
        assert fragment in line


def test_unknown_plugin_lists_third_party_plugins_too(
    project: Path, run, fake_env: dict[str, str]
) -> None:
    line = one_line_error(
        run(["bucle", "run", "+tracker.neddy={}"], project, env=fake_env, check=False)
    )
    assert "installed: broken, local, mlflow, needy, notaclass, typo, wrongargs" in line
    assert "did you mean 'needy'?" in line


def test_bucle_plugins_reports_broken_plugins_and_still_succeeds(
    tmp_path: Path, run, fake_env: dict[str, str]
) -> None:
    output = run(["bucle", "plugins"], tmp_path, env=fake_env).stdout
    (trackers,) = [s for s in output.split("\n\n") if s.startswith("tracker (")]
    rows = {line.split()[0]: line for line in trackers.splitlines()[2:]}
    assert "bucle-broken-tracker 0.2.0" in rows["broken"]
    assert "error: missing module 'definitely_missing_dependency'" in rows["broken"]
    assert "error:" in rows["notaclass"] and "is not a class" in rows["notaclass"]
    assert rows["needy"].split()[-3:] == ["bucle-needy-tracker", "0.3.0", "ok"]
    assert rows["local"].split()[-1] == "ok"


# ---------------------------------------------------------------------------------------------
# The happy path, in process
# ---------------------------------------------------------------------------------------------

DEFAULT_PLUGINS = {
    "source:synthetic_churn",
    "feature_store:local",
    "validator:rules",
    "tracker:local",
    "store:local",
    "registry:local",
    "deployer:local",
    "monitor:drift",
    "monitor:quality",
    "monitor:performance",
    "monitor:service",
    "alerter:log",
}


def registered_names(host) -> set[str]:
    return {name for name, _ in host.manager.list_name_plugin()}


def test_build_host_registers_exactly_the_selected_plugins(
    project: Path, fake_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Broken plugins are installed but not selected: they must not even be imported.
    monkeypatch.syspath_prepend(str(fake_site))
    assert "broken" in installed(ROLES["tracker"])
    cfg = validate_config(compose_config(["store.root=elsewhere/artifacts"]), "conf/")

    host = build_host(cfg)

    assert set(host.plugins) == DEFAULT_PLUGINS
    assert registered_names(host) == DEFAULT_PLUGINS
    for key, plugin in host.plugins.items():
        role, name = key.split(":")
        assert type(plugin) is installed(ROLES[role])[name].load()
    assert host.active("store")["local"].root == Path("elsewhere/artifacts")
    for hook in ("load_data", "put_artifact", "get_artifact", "register_model"):
        assert len(getattr(host.hook, hook).get_hookimpls()) == 1, hook
    assert not {"broken_tracker", "function_tracker", "typo_tracker"} & set(sys.modules)


def test_build_host_adds_a_second_tracker_next_to_local(
    project: Path, fake_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(fake_site))
    cfg = validate_config(compose_config(["+tracker.needy.url=http://x"]), "conf/")

    host = build_host(cfg)

    assert set(host.active("tracker")) == {"local", "needy"}
    assert host.active("tracker")["needy"].url == "http://x"
    assert len(host.hook.log_metrics.get_hookimpls()) == 2  # broadcast: every tracker is called


def test_build_host_for_some_roles_registers_only_those(project: Path) -> None:
    cfg = validate_config(compose_config(), "conf/")

    host = build_host(cfg, ["tracker", "registry"])

    assert registered_names(host) == {"tracker:local", "registry:local"}


# ---------------------------------------------------------------------------------------------
# Lifecycle hooks and what a failed check leaves behind
# ---------------------------------------------------------------------------------------------


def recorded(path: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_hooks_plugin_sees_every_stage_and_the_registration(
    small_project: Path, run, fake_env: dict[str, str], tmp_path: Path
) -> None:
    events_file = tmp_path / "events.jsonl"
    run(["bucle", "run", f"+hooks.recorder.path={events_file}"], small_project, env=fake_env)
    events = recorded(events_file)
    stages = ["ingest", "validate", "featurize", "train", "evaluate", "register"]
    calls = [(e["hook"], e.get("stage")) for e in events if e["hook"] != "on_model_registered"]
    assert calls == [(hook, s) for s in stages for hook in ("before_stage", "after_stage")]
    assert next(e for e in events if e["hook"] == "after_stage")["outputs"] == ["raw"]
    (registered,) = [e for e in events if e["hook"] == "on_model_registered"]
    assert registered == {"hook": "on_model_registered", "version": 1, "promoted": True}
    assert len({e["run_id"] for e in events if "run_id" in e}) == 1


def test_a_hooks_plugin_hears_about_a_failing_stage(
    small_project: Path, run, fake_env: dict[str, str], tmp_path: Path
) -> None:
    events_file = tmp_path / "events.jsonl"
    result = run(
        ["bucle", "run", f"+hooks.recorder.path={events_file}", "quarantine.max_bad_share=0"],
        small_project,
        env=fake_env,
        check=False,
    )
    assert result.returncode == 1
    assert recorded(events_file)[-1] == {
        "hook": "on_stage_error",
        "stage": "validate",
        "error": "DataError",
    }


def test_bucle_plugins_flags_a_misspelt_hook_before_anyone_selects_it(
    tmp_path: Path, run, fake_env: dict[str, str]
) -> None:
    output = run(["bucle", "plugins"], tmp_path, env=fake_env).stdout
    (typo,) = [line for line in output.splitlines() if line.strip().startswith("typo ")]
    assert "error:" in typo and "did you mean 'log_metrics'?" in typo


def test_a_plugin_mistake_leaves_no_run_directory(project: Path, run) -> None:
    result = run(["bucle", "run", "+store.rooot=x"], project, check=False)
    one_line_error(result)
    assert not (project / "outputs").exists()
