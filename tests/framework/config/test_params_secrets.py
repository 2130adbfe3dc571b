"""Secrets stay environment references in params.yaml; only the stage that loads it reads them."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from framework.config.compose import compose_config, load_params, render_params
from framework.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "conf"
SECRET = "wJalrXUtnFEMI-K7MDENG"


def write_params(tmp_path: Path, *overrides: str) -> Path:
    params = tmp_path / "params.yaml"
    params.write_text(render_params(compose_config(list(overrides), CONF)))
    return params


def test_an_environment_reference_stays_unresolved_in_params(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET", SECRET)
    monkeypatch.setenv("MLFLOW_USER", "bob")
    monkeypatch.setenv("MLFLOW_PASSWORD", SECRET + "2")
    params = write_params(
        tmp_path,
        "+store.storage_options.secret=${oc.env:AWS_SECRET}",
        "+store.storage_options.endpoint=https://${oc.env:MLFLOW_USER}:${oc.env:MLFLOW_PASSWORD}@h",
        "+store.storage_options.region=${oc.env:AWS_REGION,null}",
    )
    text = params.read_text()
    assert SECRET not in text
    assert "secret: ${oc.env:AWS_SECRET}" in text
    assert "endpoint: https://${oc.env:MLFLOW_USER}:${oc.env:MLFLOW_PASSWORD}@h" in text
    assert "region: ${oc.env:AWS_REGION,null}" in text
    # everything else is resolved as before: no interpolation of another key is left
    assert "${paths." not in text

    cfg = load_params(params)  # the stage's process reads the environment
    assert cfg.store.storage_options.secret == SECRET
    assert cfg.store.storage_options.endpoint == f"https://bob:{SECRET}2@h"
    assert cfg.store.storage_options.region is None


def test_a_changed_reference_changes_params(tmp_path: Path) -> None:
    first = write_params(tmp_path, "+store.storage_options.secret=${oc.env:AWS_SECRET}")
    text = first.read_text()
    second = write_params(tmp_path, "+store.storage_options.secret=${oc.env:OTHER_SECRET}")
    assert second.read_text() != text


def test_an_unset_variable_is_one_line_naming_the_key_and_the_variable(tmp_path: Path) -> None:
    params = write_params(tmp_path, "+store.storage_options.secret=${oc.env:BUCLE_UNSET_VAR_X}")
    with pytest.raises(ConfigError) as raised:
        load_params(params)
    message = str(raised.value)
    assert "store.storage_options.secret" in message and "BUCLE_UNSET_VAR_X" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("override", "key"),
    [
        (f"+store.storage_options.secret={SECRET}", "store.storage_options.secret"),
        (f"+registry.tracking_uri=https://bob:{SECRET}@mlflow.example/", "registry.tracking_uri"),
        (
            f"+alert.webhook.headers.Authorization=Bearer {SECRET}",
            "alert.webhook.headers.Authorization",
        ),
    ],
)
def test_a_literal_secret_is_refused_naming_the_key_and_the_fix(
    tmp_path: Path, override: str, key: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        write_params(tmp_path, override)
    message = str(raised.value)
    assert key in message and "${oc.env:" in message and SECRET not in message
    assert "\n" not in message
    assert not (tmp_path / "params.yaml").exists()


def test_a_stage_refuses_params_holding_a_literal_secret(tmp_path: Path) -> None:
    raw = OmegaConf.load(ROOT / "params.yaml")
    raw.store.storage_options = {"secret": SECRET}
    params = tmp_path / "params.yaml"
    params.write_text(OmegaConf.to_yaml(raw))
    with pytest.raises(ConfigError, match=r"store\.storage_options\.secret .*\$\{oc\.env:"):
        load_params(params)


def test_under_dvc_only_its_composer_keeps_references(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registering the DVC-side ``oc.env`` leaves every other caller's resolution unchanged."""
    import dvc.utils.hydra  # noqa: F401 -- what makes the process "DVC's"

    from framework.config.env_refs import keep_env_references_under_dvc

    monkeypatch.setenv("AWS_SECRET", SECRET)
    assert keep_env_references_under_dvc() and keep_env_references_under_dvc()  # idempotent
    cfg = OmegaConf.create({"secret": "${oc.env:AWS_SECRET}", "region": "${oc.env:NO_SUCH,eu}"})
    assert cfg.secret == SECRET and cfg.region == "eu"


def test_bucle_run_refuses_a_literal_secret_before_hydra_records_it(tmp_path: Path) -> None:
    """Hydra writes the overrides into the run directory (``.hydra/overrides.yaml``): a secret
    given as a value must be refused before that directory exists."""
    import os
    import shutil
    import subprocess
    import sys

    shutil.copytree(CONF, tmp_path / "conf")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "framework",
            "run",
            "alert=[log,webhook]",
            f"+alert.webhook.url=https://hooks.slack.com/services/T0/B0/{SECRET}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    error = done.stderr.strip()
    assert error.startswith("bucle: error: config: alert.webhook.url holds a secret")
    assert "\n" not in error and SECRET not in error
    assert not (tmp_path / "outputs").exists()
    hits = [
        p for p in tmp_path.rglob("*") if p.is_file() and SECRET in p.read_text(errors="ignore")
    ]
    assert hits == []


@pytest.mark.parametrize(
    "overrides",
    [
        # a reference to another key that holds the secret in clear
        ["+store.bucket=" + SECRET, "+store.storage_options.secret=${store.bucket}"],
        # part of the secret in clear beside a reference
        ["+store.storage_options.secret=abc${oc.env:AWS_SECRET}"],
    ],
    ids=["via another key", "partly in clear"],
)
def test_a_secret_that_is_not_only_a_reference_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overrides: list[str]
) -> None:
    monkeypatch.setenv("AWS_SECRET", "xyz")
    with pytest.raises(
        ConfigError, match=r"store\.storage_options\.secret holds a secret"
    ) as raised:
        write_params(tmp_path, *overrides)
    assert SECRET not in str(raised.value)
    assert not (tmp_path / "params.yaml").exists()


def test_a_bearer_header_from_a_reference_is_accepted(tmp_path: Path) -> None:
    params = write_params(tmp_path, "+alert.webhook.headers.Authorization=Bearer ${oc.env:TOK}")
    assert "Authorization: Bearer ${oc.env:TOK}" in params.read_text()
