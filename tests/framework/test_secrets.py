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


# ---------------------------------------------------------------------------------------------
# The corpus: what the one classifier must hide, and near misses it must leave alone
# ---------------------------------------------------------------------------------------------

SECRET = "Zq9sEcReT77"

#: (config, where the secret sits): every one must come out of ``redacted`` without SECRET.
HIDDEN_CASES = [
    ({"password": SECRET}, "a password key"),
    ({"db": {"passwd": SECRET}}, "passwd"),
    ({"aws_secret_access_key": SECRET}, "AWS secret key"),
    ({"storage_options": {"secret": SECRET}}, "s3fs secret"),
    ({"storage_options": {"token": SECRET}}, "gcsfs token"),
    ({"storage_options": {"account_key": SECRET}}, "Azure account_key"),
    ({"storage_options": {"sas_token": SECRET}}, "Azure sas_token"),
    ({"storage_options": {"connection_string": SECRET}}, "Azure connection_string"),
    ({"headers": {"Authorization": f"Bearer {SECRET}"}}, "Authorization header"),
    ({"headers": {"Proxy-Authorization": f"Basic {SECRET}"}}, "Proxy-Authorization"),
    ({"headers": {"X-API-Key": SECRET}}, "X-API-Key"),
    ({"headers": {"Api-Key": SECRET}}, "Api-Key"),
    ({"headers": {"x-api-key": SECRET}}, "lower-case x-api-key"),
    ({"headers": {"Cookie": f"session={SECRET}"}}, "Cookie"),
    ({"headers": {"Set-Cookie": f"session={SECRET}"}}, "Set-Cookie"),
    ({"apiKey": SECRET}, "camelCase apiKey"),
    ({"clientSecret": SECRET}, "camelCase clientSecret"),
    ({"private_key": SECRET}, "private_key"),
    ({"credentials": {"user": "bob", "key": SECRET}}, "everything under credentials"),
    ({"uri": f"https://bob:{SECRET}@mlflow.example/"}, "URL password"),
    ({"uri": f"https://:{SECRET}@mlflow.example/"}, "URL password, empty user"),
    ({"uri": f"postgresql://bob:{SECRET}@db:5432/x"}, "database URL password"),
    ({"uri": f"https://ghp_{SECRET}0a1b2c3d4e@git.example/o/r.git"}, "a token as the URL's user"),
    ({"url": f"https://app.example/cb#access_token={SECRET}&x=1"}, "a token in the fragment"),
    ({"url": f"https://h.example/hook?token={SECRET}"}, "?token="),
    ({"url": f"https://a.blob.core.windows.net/c?sv=2022&sig={SECRET}"}, "Azure SAS sig="),
    ({"url": f"https://h.example/x?page=1&access_token={SECRET}"}, "access_token="),
    ({"url": f"https://b.s3.amazonaws.com/k?X-Amz-Signature={SECRET}"}, "S3 presigned"),
    ({"url": f"https://h.example/v1?api_key={SECRET}"}, "api_key="),
    ({"url": f"https://hooks.slack.com/services/T000/B000/{SECRET}"}, "Slack webhook path"),
    ({"url": f"https://discord.com/api/webhooks/123456/{SECRET}"}, "Discord webhook path"),
    ({"url": f"https://chat.example/hooks/{SECRET}xk3j5h7g9"}, "Mattermost-style hook token"),
    ({"dsn": f"AccountName=a;AccountKey={SECRET};EndpointSuffix=x"}, "Azure conn string"),
    ({"note": f"cannot reach https://u:{SECRET}@h/ (refused)"}, "a URL inside a message"),
    ({"list": [{"Authorization": SECRET}]}, "a secret key inside a list"),
]

#: Keys and values that look a little like secrets and must be recorded as they are.
NEAR_MISSES = [
    {"max_tokens": 512},
    {"tokenizer": "bpe"},
    {"tokens": [1, 2]},
    {"author": "ana"},
    {"keyboard": "qwerty"},
    {"passenger_count": 3},
    {"key": "customer_id"},
    {"primary_key": "id"},
    {"url": "https://example.com/data.csv?page=2&sort=asc"},
    {"url": "s3://bucket/artifacts"},
    {"uri": "https://bob@mlflow.example/"},
    {"uri": "https://oauth2-deploy-user@git.example/"},
    {"url": "https://docs.example/page#section-2"},
    {"hooks": ["framework.testing.hooks"]},
    {"description": "Basic statistics of every column"},
    {"secret": None, "token": ""},
]


@pytest.mark.parametrize(("config", "case"), HIDDEN_CASES, ids=[case for _, case in HIDDEN_CASES])
def test_the_classifier_hides_every_secret_of_the_corpus(config: dict, case: str) -> None:
    assert SECRET not in repr(redacted(config)), case


@pytest.mark.parametrize("config", NEAR_MISSES, ids=[next(iter(c)) for c in NEAR_MISSES])
def test_the_classifier_keeps_near_misses_as_they_are(config: dict) -> None:
    assert redacted(config) == config


@pytest.mark.parametrize(("config", "case"), HIDDEN_CASES, ids=[case for _, case in HIDDEN_CASES])
def test_every_literal_secret_of_the_corpus_is_named(config: dict, case: str) -> None:
    from framework.secrets import literal_secrets

    assert list(literal_secrets(config)), case


@pytest.mark.parametrize(
    "config",
    [
        {"password": "${oc.env:DB_PASSWORD}"},
        {"headers": {"Authorization": "Bearer ${oc.env:HOOK_TOKEN}"}},
        {"uri": "https://${oc.env:MLFLOW_USER}:${oc.env:MLFLOW_PASSWORD}@mlflow.example/"},
        {"uri": "https://:${oc.env:P}@h/"},
        {"url": "https://hooks.slack.com/services/${oc.env:SLACK_HOOK}"},
        {"url": "https://a.blob.core.windows.net/c?sv=2022&sig=${oc.env:SAS_SIG}"},
        {"token": "${registry.token}"},
        *NEAR_MISSES,
    ],
)
def test_environment_references_are_not_literal_secrets(config: dict) -> None:
    from framework.secrets import literal_secrets

    assert list(literal_secrets(config)) == []


def test_reproducing_takes_a_masked_url_from_the_project_config() -> None:
    project = {"registry": {"tracking_uri": "https://bob:hunter2@mlflow.example/"}}
    recorded = redacted(project)
    assert recorded["registry"]["tracking_uri"] == "https://bob:***@mlflow.example/"
    assert restore_secrets(recorded, project) == project
