"""Secrets in a config are hidden from every record and come back only from the project."""

from __future__ import annotations

import pytest

from framework.errors import ConfigError
from framework.secrets import HIDDEN, redacted, restore_secrets

CONFIG = {
    "store": {
        "name": "fsspec",
        "url": "s3://bucket/artifacts",
        "storage_options": {"key": "AKIA123", "secret": "s3cr3t", "anon": False},
    },
    "registry": {"tracking_uri": "https://bob:hunter2@mlflow.example/"},
    "alert": {"webhook": {"headers": {"Authorization": "Bearer abc"}, "url": "http://x/"}},
    "data": {"name": "sql", "password": None},
    "model": {"C": 1.0, "tokens": [1, 2]},
}


def test_secret_keys_and_url_passwords_are_hidden() -> None:
    shown = redacted(CONFIG)
    text = repr(shown)
    for secret in ("s3cr3t", "hunter2", "Bearer abc"):
        assert secret not in text
    assert shown["store"]["storage_options"] == {"key": "AKIA123", "secret": HIDDEN, "anon": False}
    assert shown["registry"]["tracking_uri"] == "https://bob:***@mlflow.example/"
    assert shown["alert"]["webhook"]["headers"]["Authorization"] == HIDDEN
    assert shown["data"]["password"] is None  # nothing to hide
    assert shown["model"] == CONFIG["model"]  # `tokens` is a word of its own, not `token`
    assert CONFIG["store"]["storage_options"]["secret"] == "s3cr3t"  # the original is untouched


def test_reproducing_takes_hidden_secrets_from_the_project_config() -> None:
    recorded = redacted(CONFIG)
    assert restore_secrets(recorded, CONFIG)["store"]["storage_options"]["secret"] == "s3cr3t"
    without = {**CONFIG, "store": {**CONFIG["store"], "storage_options": {}}}
    with pytest.raises(ConfigError, match=r"store\.storage_options\.secret"):
        restore_secrets(recorded, without)
