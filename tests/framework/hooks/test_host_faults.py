"""How a third-party plugin can be wrong at import or construction, as a plugin author meets it:
one PluginError line naming the plugin, its module and distribution, the option and the reason."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from framework.errors import PluginError
from framework.hooks.host import ROLES, build_plugin, load_class
from tests.conftest import add_distribution

TRACKER = ROLES["tracker"]

MODULES = {
    "bucle_typed": """
        from framework import hookimpl

        class TypedTracker:
            def __init__(self, batch_size: int = 10, timeout: float = 2.5, label: str = "x"):
                self.batches = list(range(0, 100, int(batch_size)))

            @hookimpl
            def log_metrics(self, run_id, metrics):
                pass

        class UntypedTracker:
            def __init__(self, batch_size=10, prefix="run"):
                self.batches = list(range(0, 100, batch_size))

            @hookimpl
            def log_metrics(self, run_id, metrics):
                pass
    """,
    "bucle_needs_lib": "raise ImportError('libcuda.so.1: cannot open shared object file')\n",
    "bucle_needs_module": "import definitely_not_installed_module\n",
    "bucle_explodes": "raise RuntimeError('needs CUDA 12')\n",
}


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_distribution(
        tmp_path / "site",
        "bucle-faulty",
        "0.9.0",
        MODULES,
        {
            "bucle.trackers": {
                "typed": "bucle_typed:TypedTracker",
                "untyped": "bucle_typed:UntypedTracker",
                "needs_lib": "bucle_needs_lib:Tracker",
                "needs_module": "bucle_needs_module:Tracker",
                "explodes": "bucle_explodes:Tracker",
            }
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield
    for module in MODULES:
        sys.modules.pop(module, None)


@pytest.mark.usefixtures("third_party")
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"batch_size": "ten"},
            "tracker plugin 'typed': option tracker.typed.batch_size='ten' must be an integer, "
            "got str; set tracker.typed.batch_size to an integer, e.g. 10",
        ),
        (
            {"timeout": [1, 2]},
            "option tracker.typed.timeout=[1, 2] must be a number, got list",
        ),
        ({"batch_size": True}, "option tracker.typed.batch_size=True must be an integer"),
    ],
)
def test_an_option_of_the_wrong_type_is_named_before_the_constructor_runs(
    options: dict, expected: str
) -> None:
    with pytest.raises(PluginError) as raised:
        build_plugin(TRACKER, "typed", options)
    assert expected in str(raised.value)


@pytest.mark.usefixtures("third_party")
def test_text_that_reads_as_a_number_passes_for_the_constructor_to_convert() -> None:
    plugin = build_plugin(TRACKER, "typed", {"batch_size": "25", "timeout": "3"})
    assert plugin.batches == [0, 25, 50, 75]


@pytest.mark.usefixtures("third_party")
def test_a_constructor_error_names_plugin_option_and_reason() -> None:
    with pytest.raises(PluginError) as raised:
        build_plugin(TRACKER, "untyped", {"batch_size": "ten", "prefix": "run"})
    assert str(raised.value) == (
        "tracker plugin 'untyped' rejected option tracker.untyped.batch_size='ten': "
        "TypeError: 'str' object cannot be interpreted as an integer; check the option's type "
        "and value in the plugin's documentation"
    )
    assert isinstance(raised.value.__cause__, TypeError)


@pytest.mark.usefixtures("third_party")
def test_a_constructor_error_without_a_suspect_lists_the_options_given() -> None:
    with pytest.raises(PluginError) as raised:
        build_plugin(TRACKER, "untyped", {"batch_size": 0, "prefix": "run"})
    assert str(raised.value).startswith(
        "tracker plugin 'untyped' failed to start with batch_size=0, prefix='run' "
        "(tracker.untyped): ValueError: range() arg 3 must not be zero"
    )


@pytest.mark.usefixtures("third_party")
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "needs_lib",
            "tracker plugin 'needs_lib' (bucle_needs_lib:Tracker) from bucle-faulty 0.9.0 failed "
            "to import: ImportError: libcuda.so.1: cannot open shared object file",
        ),
        (
            "needs_module",
            "tracker plugin 'needs_module' (bucle_needs_module:Tracker) from bucle-faulty 0.9.0 "
            "failed to import: missing module 'definitely_not_installed_module'",
        ),
        (
            "explodes",
            "tracker plugin 'explodes' (bucle_explodes:Tracker) from bucle-faulty 0.9.0 failed "
            "to import: RuntimeError: needs CUDA 12",
        ),
    ],
)
def test_an_import_failure_shows_the_real_message_module_and_distribution(
    name: str, expected: str
) -> None:
    with pytest.raises(PluginError) as raised:
        load_class(TRACKER, name)
    assert str(raised.value).startswith(expected)
    assert "\n" not in str(raised.value)


def test_a_drift_option_that_is_not_a_number_names_its_key() -> None:
    from framework.errors import ConfigError
    from plugins.monitors.drift import DriftMonitor

    with pytest.raises(ConfigError, match=r"monitor\.drift\.p_value='abc' is not a number"):
        DriftMonitor(p_value="abc")
    with pytest.raises(ConfigError, match=r"monitor\.drift\.small_sample=2\.5 is not an integer"):
        DriftMonitor(small_sample=2.5)
    assert DriftMonitor(p_value="0.01").thresholds.p_value == 0.01
