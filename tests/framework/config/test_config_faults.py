"""Config files and values that are wrong in ways the schema's types cannot see: an empty file,
a YAML syntax error (kept as file:line:column), a number outside its range."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from framework.config.compose import compose_config, load_params, validate_config
from framework.config.plugin_conf import search_path_entry
from framework.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "conf"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("features.test_size=1.5", "features.test_size=1.5 is out of range (0, 1)"),
        ("features.test_size=0", "features.test_size=0.0 is out of range (0, 1)"),
        ("features.test_size=1", "features.test_size=1.0 is out of range (0, 1)"),
        ("quarantine.max_bad_share=1.5", "quarantine.max_bad_share=1.5 is out of range [0, 1]"),
        (
            "features.undersample.keep_share=-0.2",
            "features.undersample.keep_share=-0.2 is out of range [0, 1]",
        ),
    ],
)
def test_a_value_out_of_its_range_names_key_value_and_range(override: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_config(compose_config([override], CONF), "config")
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_values_at_the_edges_of_an_inclusive_range_pass() -> None:
    composed = compose_config(
        ["quarantine.max_bad_share=0", "features.undersample.keep_share=1"], CONF
    )
    assert validate_config(composed, "config").quarantine.max_bad_share == 0


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_params_file_says_it_is_empty(tmp_path: Path, text: str) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(text)
    with pytest.raises(ConfigError, match=r"params\.yaml is empty .*`bucle params`"):
        load_params(params)


def copy_conf(tmp_path: Path) -> Path:
    return Path(shutil.copytree(CONF, tmp_path / "conf"))


def test_an_empty_config_yaml_says_it_is_empty(tmp_path: Path) -> None:
    conf = copy_conf(tmp_path)
    (conf / "config.yaml").write_text("# nothing here\n")
    with pytest.raises(ConfigError, match=r"conf/config\.yaml is empty"):
        compose_config([], conf)


def test_a_yaml_syntax_error_keeps_file_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = copy_conf(tmp_path)
    monkeypatch.chdir(tmp_path)
    (conf / "experiment" / "broken.yaml").write_text(
        "# @package _global_\nseed: 7\nfeatures:\n  test_size: [0.2\n"
    )
    with pytest.raises(ConfigError) as raised:
        compose_config(["experiment=broken"], conf)
    message = str(raised.value)
    assert "conf/experiment/broken.yaml:5:1: expected ',' or ']'" in message
    assert "(while parsing a flow sequence at 4:14)" in message


def test_a_yaml_syntax_error_in_params_keeps_its_location(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("seed: 1\ndata: {name: x\n")
    with pytest.raises(ConfigError, match=r"params\.yaml:3:1: "):
        load_params(params)


def test_a_config_package_is_found_on_disk_without_importing_it(tmp_path: Path) -> None:
    """A plugin package that raises on import must not break composing: Hydra gets its files."""
    package = tmp_path / "site" / "bucle_exploding"
    (package / "conf" / "tracker").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('imported!')\n")
    (package / "conf" / "__init__.py").write_text("")
    import sys

    sys.path.insert(0, str(tmp_path / "site"))
    try:
        entry = search_path_entry("bucle_exploding.conf")
    finally:
        sys.path.remove(str(tmp_path / "site"))
    assert entry == f"file://{(package / 'conf').resolve()}"
    assert "bucle_exploding" not in sys.modules


def test_a_config_package_not_on_disk_falls_back_to_pkg() -> None:
    assert (
        search_path_entry("no_such_package_anywhere.conf") == "pkg://no_such_package_anywhere.conf"
    )


def test_bucles_own_config_package_resolves_to_its_directory() -> None:
    assert search_path_entry("plugins.conf") == f"file://{ROOT / 'plugins' / 'conf'}"
